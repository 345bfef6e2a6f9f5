using System.Buffers;
using System.Net.Sockets;

namespace SandboxedBuild.Network;

/// <summary>Copies bytes between two connected sockets in both directions, with half-close.</summary>
internal static class SocketRelay
{
    private const int BufferSize = 128 * 1024;

    /// <summary>
    /// Relays until both directions are done. A clean end of one direction is passed on as a
    /// half-close (shutdown of sending); an error in either direction tears both down, so that
    /// neither side is left waiting on a dead peer. Memory is bounded by one buffer per direction.
    /// </summary>
    /// <returns>The bytes copied from <paramref name="a"/> to <paramref name="b"/> and back.</returns>
    public static async Task<(long AToB, long BToA)> RelayAsync(Socket a, Socket b, ReadOnlyMemory<byte> initialAToB = default)
    {
        if (!initialAToB.IsEmpty)
        {
            await b.SendAsync(initialAToB, SocketFlags.None).ConfigureAwait(false);
        }

        var aToB = CopyAsync(a, b);
        var bToA = CopyAsync(b, a);
        var first = await Task.WhenAny(aToB, bToA).ConfigureAwait(false);
        if (!(await first.ConfigureAwait(false)).Clean)
        {
            a.Dispose();
            b.Dispose();
        }

        var up = await aToB.ConfigureAwait(false);
        var down = await bToA.ConfigureAwait(false);
        return (up.Bytes + initialAToB.Length, down.Bytes);
    }

    private static async Task<(long Bytes, bool Clean)> CopyAsync(Socket from, Socket to)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long total = 0;
        var clean = false;
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    clean = true;
                    break;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None).ConfigureAwait(false);
                total += read;
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            clean = false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return (total, clean);
    }
}
