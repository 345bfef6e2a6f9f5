using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SandboxedBuild.Linux;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Network;

/// <summary>Copies bytes between two connected sockets in both directions, with half-close.</summary>
/// <remarks>
/// On Linux each direction runs on a thread of its own (the download on the connection's thread)
/// and moves data with blocking splice(2) calls through a pipe, so the bytes never enter this
/// process's memory and the runtime's socket engine never sees the sockets. Elsewhere a managed
/// copy loop does the work.
/// A clean end of one direction is passed on as a half-close; an error in either direction tears
/// both down, so neither side waits on a dead peer. Memory is bounded per connection.
/// A connection that carries no byte in either direction for the idle timeout is torn down too: the
/// sockets get receive and send timeouts of half of it (or of the watchdog's heartbeat, if shorter),
/// and a direction whose call times out looks at when either direction last moved bytes (one shared
/// timestamp, written once per chunk). Every return from a call, with bytes or on its timeout, tells
/// the watchdog that the direction is alive; so does the managed copy's every completed call.
/// </remarks>
internal static class SocketRelay
{
    // No SPLICE_F_MORE: it corks TCP, which stalls the small back-and-forth of TLS handshakes.
    private const int ChunkSize = 1024 * 1024;
    private const int BufferSize = 128 * 1024;
    private const int EAGAIN = 11;

    /// <summary>When either direction last moved bytes (<see cref="Environment.TickCount64"/>); one per relayed connection.</summary>
    private sealed class Activity
    {
        public long Last = Environment.TickCount64;

        public void Touch() => Volatile.Write(ref Last, Environment.TickCount64);

        public bool IdleFor(long milliseconds) => Environment.TickCount64 - Volatile.Read(ref Last) >= milliseconds;
    }

    /// <summary>
    /// Relays until both directions are done, on the calling thread and one more; returns the bytes
    /// copied each way. The sockets must never have had an asynchronous operation (see EgressProxy).
    /// </summary>
    /// <param name="a">One side (the sandbox's connection).</param>
    /// <param name="b">The other side (the server).</param>
    /// <param name="initialAToB">Bytes to send to <paramref name="b"/> first.</param>
    /// <param name="idleTimeout">How long both directions may carry nothing before both are torn down.</param>
    /// <param name="monitor">The proxy's watchdog, told when each direction moves and ends.</param>
    /// <param name="aDone">Called once <paramref name="a"/> has cleanly finished sending (its half-close or close), while <paramref name="b"/> may still send.</param>
    public static (long AToB, long BToA) Relay(Socket a, Socket b, ReadOnlySpan<byte> initialAToB, TimeSpan idleTimeout, RelayMonitor? monitor = null, Action? aDone = null)
    {
        // Half the idle timeout per call, so that silence is noticed within 1.5 times the timeout;
        // no more than the watchdog's heartbeat, so that a call blocked on a slow peer comes back to
        // say so well before the watchdog would take the direction for a wedge.
        var slice = (int)Math.Clamp(Math.Min(idleTimeout.TotalMilliseconds / 2, monitor?.HeartbeatMilliseconds ?? double.MaxValue), 50, int.MaxValue);
        var activity = new Activity();
        var idle = (long)idleTimeout.TotalMilliseconds;
        if (OperatingSystem.IsLinux())
        {
            a.ReceiveTimeout = a.SendTimeout = b.ReceiveTimeout = b.SendTimeout = slice;
        }

        if (!initialAToB.IsEmpty)
        {
            b.Send(initialAToB, SocketFlags.None);
        }

        var pair = monitor?.Track(a, b);
        try
        {
            var (up, down) = OperatingSystem.IsLinux() ? SpliceBoth(a, b, activity, idle, pair, monitor, aDone) : CopyBothAsync(a, b, activity, idle, slice, pair, aDone).GetAwaiter().GetResult();
            return (up + initialAToB.Length, down);
        }
        finally
        {
            if (pair is not null)
            {
                monitor!.Untrack(pair);
            }
        }
    }

    private static (long, long) SpliceBoth(Socket a, Socket b, Activity activity, long idle, RelayMonitor.Pair? pair, RelayMonitor? monitor, Action? aDone)
    {
        int fa = (int)a.Handle, fb = (int)b.Handle;
        MakeBlocking(fa);
        MakeBlocking(fb);
        (long Bytes, bool Clean) Direction(int from, int to)
        {
            var down = from == fb;
            var result = Splice(from, to, activity, idle, pair, monitor, down);
            if (pair is not null)
            {
                // An ended direction's source reads as ready for good: the watchdog must not take it for unread bytes.
                if (down)
                {
                    pair.DownDone = true;
                }
                else
                {
                    pair.UpDone = true;
                }
            }

            if (result.Clean && !down)
            {
                aDone?.Invoke();
            }

            if (!result.Clean)
            {
                // Wake the other direction, which may be blocked in splice on a healthy socket.
                Shutdown(fa);
                Shutdown(fb);
            }

            return result;
        }

        // The download (b to a) runs here, on the connection's own thread; the upload on a second one.
        long up = 0;
        var upThread = new Thread(() => up = Direction(fa, fb).Bytes, 256 * 1024) { IsBackground = true, Name = "relay-up" };
        upThread.Start();
        var down = Direction(fb, fa).Bytes;
        upThread.Join();
        return (up, down);
    }

    private static unsafe (long Bytes, bool Clean) Splice(int from, int to, Activity activity, long idle, RelayMonitor.Pair? pair, RelayMonitor? monitor, bool down)
    {
        int* pipe = stackalloc int[2];
        if (NativeMethods.pipe(pipe) != 0)
        {
            return (0, false);
        }

        long total = 0;
        try
        {
            _ = NativeMethods.fcntl(pipe[1], NativeMethods.F_SETPIPE_SZ, ChunkSize);
            while (true)
            {
                var read = NativeMethods.splice(from, null, pipe[1], null, ChunkSize, NativeMethods.SPLICE_F_MOVE);
                pair?.Alive(down);
                if (read == 0)
                {
                    NativeMethods.ShutdownWrite(to);
                    return (total, true);
                }

                if (read < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == NativeMethods.EINTR || (errno == EAGAIN && !activity.IdleFor(idle)))
                    {
                        continue;
                    }

                    return (total, false);
                }

                activity.Touch();
                for (var left = read; left > 0;)
                {
                    var written = NativeMethods.splice(pipe[0], null, to, null, (nuint)left, NativeMethods.SPLICE_F_MOVE);
                    pair?.Alive(down);
                    if (written <= 0)
                    {
                        var errno = written < 0 ? Marshal.GetLastPInvokeError() : 0;
                        if (errno == NativeMethods.EINTR || (errno == EAGAIN && !activity.IdleFor(idle)))
                        {
                            continue;
                        }

                        return (total, false);
                    }

                    activity.Touch();
                    left -= written;
                }

                total += read;
                monitor?.Moved(read, down);
            }
        }
        finally
        {
            _ = NativeMethods.close(pipe[0]);
            _ = NativeMethods.close(pipe[1]);
        }
    }

    private static void MakeBlocking(int fd)
    {
        var flags = NativeMethods.fcntl(fd, NativeMethods.F_GETFL, 0);
        if (flags >= 0)
        {
            _ = NativeMethods.fcntl(fd, NativeMethods.F_SETFL, flags & ~NativeMethods.O_NONBLOCK);
        }
    }

    private static void Shutdown(int fd) => NativeMethods.ShutdownBoth(fd);

    private static async Task<(long, long)> CopyBothAsync(Socket a, Socket b, Activity activity, long idle, int slice, RelayMonitor.Pair? pair, Action? aDone)
    {
        // The managed copy has no timeouts of its own: a cheap periodic check closes a silent pair.
        // It is also the heartbeat: an awaited call is no thread that could wedge, and a timer that
        // still fires shows the runtime still runs the relay's work.
        using var watch = new Timer(_ =>
        {
            pair?.Alive(down: false);
            pair?.Alive(down: true);
            if (activity.IdleFor(idle))
            {
                a.Dispose();
                b.Dispose();
            }
        }, null, slice, slice);
        var aToB = Up();
        var bToA = Down();
        var first = await Task.WhenAny(aToB, bToA).ConfigureAwait(false);
        if (!(await first.ConfigureAwait(false)).Clean)
        {
            a.Dispose();
            b.Dispose();
        }

        return ((await aToB.ConfigureAwait(false)).Bytes, (await bToA.ConfigureAwait(false)).Bytes);

        async Task<(long Bytes, bool Clean)> Up()
        {
            var result = await CopyAsync(a, b, activity, pair, down: false).ConfigureAwait(false);
            if (pair is not null)
            {
                pair.UpDone = true;
            }

            if (result.Clean)
            {
                aDone?.Invoke();
            }

            return result;
        }

        async Task<(long Bytes, bool Clean)> Down()
        {
            var result = await CopyAsync(b, a, activity, pair, down: true).ConfigureAwait(false);
            if (pair is not null)
            {
                pair.DownDone = true;
            }

            return result;
        }
    }

    private static async Task<(long Bytes, bool Clean)> CopyAsync(Socket from, Socket to, Activity activity, RelayMonitor.Pair? pair, bool down)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long total = 0;
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                pair?.Alive(down);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return (total, true);
                }

                activity.Touch();
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None).ConfigureAwait(false);
                pair?.Alive(down);
                activity.Touch();
                total += read;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return (total, false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
