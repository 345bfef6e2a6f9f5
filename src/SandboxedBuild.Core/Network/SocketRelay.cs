using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SandboxedBuild.Linux;

namespace SandboxedBuild.Network;

/// <summary>Copies bytes between two connected sockets in both directions, with half-close.</summary>
/// <remarks>
/// On Linux each direction runs on its own thread and moves data with splice(2) through a pipe, so
/// the bytes never enter this process's memory: a large download through the proxy costs little
/// more than a direct one. Elsewhere (or if splice is refused) a managed copy loop does the work.
/// A clean end of one direction is passed on as a half-close; an error in either direction tears
/// both down, so neither side waits on a dead peer. Memory is bounded per connection.
/// </remarks>
internal static class SocketRelay
{
    // No SPLICE_F_MORE: it corks TCP, which stalls the small back-and-forth of TLS handshakes.
    private const int ChunkSize = 1024 * 1024;
    private const int BufferSize = 128 * 1024;

    /// <summary>Relays until both directions are done; returns the bytes copied each way.</summary>
    public static async Task<(long AToB, long BToA)> RelayAsync(Socket a, Socket b, ReadOnlyMemory<byte> initialAToB = default)
    {
        if (!initialAToB.IsEmpty)
        {
            await b.SendAsync(initialAToB, SocketFlags.None).ConfigureAwait(false);
        }

        var (up, down) = OperatingSystem.IsLinux()
            ? await SpliceAsync(a, b).ConfigureAwait(false)
            : await CopyBothAsync(a, b).ConfigureAwait(false);
        return (up + initialAToB.Length, down);
    }

    private static Task<(long, long)> SpliceAsync(Socket a, Socket b)
    {
        int fa = (int)a.Handle, fb = (int)b.Handle;
        MakeBlocking(fa);
        MakeBlocking(fb);
        var done = new TaskCompletionSource<(long, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
        long up = 0, down = 0;
        var remaining = 2;
        void Direction(int from, int to, bool isUp)
        {
            var (bytes, clean) = Splice(from, to);
            if (!clean)
            {
                // Wake the other direction, which may be blocked in splice on a healthy socket.
                Shutdown(fa);
                Shutdown(fb);
            }

            if (isUp)
            {
                up = bytes;
            }
            else
            {
                down = bytes;
            }

            if (Interlocked.Decrement(ref remaining) == 0)
            {
                done.SetResult((up, down));
            }
        }

        new Thread(() => Direction(fa, fb, true), 256 * 1024) { IsBackground = true, Name = "relay-up" }.Start();
        new Thread(() => Direction(fb, fa, false), 256 * 1024) { IsBackground = true, Name = "relay-down" }.Start();
        return done.Task;
    }

    private static unsafe (long Bytes, bool Clean) Splice(int from, int to)
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
                if (read == 0)
                {
                    NativeMethods.ShutdownWrite(to);
                    return (total, true);
                }

                if (read < 0)
                {
                    if (Marshal.GetLastPInvokeError() == NativeMethods.EINTR)
                    {
                        continue;
                    }

                    return (total, false);
                }

                for (var left = read; left > 0;)
                {
                    var written = NativeMethods.splice(pipe[0], null, to, null, (nuint)left, NativeMethods.SPLICE_F_MOVE);
                    if (written <= 0)
                    {
                        if (written < 0 && Marshal.GetLastPInvokeError() == NativeMethods.EINTR)
                        {
                            continue;
                        }

                        return (total, false);
                    }

                    left -= written;
                }

                total += read;
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

    private static async Task<(long, long)> CopyBothAsync(Socket a, Socket b)
    {
        var aToB = CopyAsync(a, b);
        var bToA = CopyAsync(b, a);
        var first = await Task.WhenAny(aToB, bToA).ConfigureAwait(false);
        if (!(await first.ConfigureAwait(false)).Clean)
        {
            a.Dispose();
            b.Dispose();
        }

        return ((await aToB.ConfigureAwait(false)).Bytes, (await bToA.ConfigureAwait(false)).Bytes);
    }

    private static async Task<(long Bytes, bool Clean)> CopyAsync(Socket from, Socket to)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long total = 0;
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return (total, true);
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None).ConfigureAwait(false);
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
