using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SandboxedBuild.Linux;

namespace SandboxedBuild.Network;

/// <summary>Copies bytes between two connected sockets in both directions, with half-close.</summary>
/// <remarks>
/// On Linux each direction runs on a thread of its own (the download on the connection's thread)
/// and moves data with blocking splice(2) calls through a pipe, so the bytes never enter this
/// process's memory and the runtime's socket engine never sees the sockets. Elsewhere a managed
/// copy loop does the work.
/// A clean end of one direction is passed on as a half-close; an error in either direction tears
/// both down, so neither side waits on a dead peer. Memory is bounded per connection.
/// </remarks>
internal static class SocketRelay
{
    // No SPLICE_F_MORE: it corks TCP, which stalls the small back-and-forth of TLS handshakes.
    private const int ChunkSize = 1024 * 1024;
    private const int BufferSize = 128 * 1024;

    /// <summary>
    /// Relays until both directions are done, on the calling thread and one more; returns the bytes
    /// copied each way. The sockets must never have had an asynchronous operation (see EgressProxy).
    /// </summary>
    public static (long AToB, long BToA) Relay(Socket a, Socket b, ReadOnlySpan<byte> initialAToB)
    {
        if (!initialAToB.IsEmpty)
        {
            b.Send(initialAToB, SocketFlags.None);
        }

        var (up, down) = OperatingSystem.IsLinux() ? SpliceBoth(a, b) : CopyBothAsync(a, b).GetAwaiter().GetResult();
        return (up + initialAToB.Length, down);
    }

    private static (long, long) SpliceBoth(Socket a, Socket b)
    {
        int fa = (int)a.Handle, fb = (int)b.Handle;
        MakeBlocking(fa);
        MakeBlocking(fb);
        (long Bytes, bool Clean) Direction(int from, int to)
        {
            var result = Splice(from, to);
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
