using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace SandboxedBuild.Linux;

/// <summary>
/// The messages between a host and the supervisor it started (<see cref="Supervisor"/>), over a unix
/// stream socket in a private directory of the host: each a 4-byte little-endian length, then
/// UTF-8 fields separated by NUL (no field of an argument vector or an environment can hold one).
/// </summary>
/// <remarks>
/// The host listens, the supervisor connects. Host → supervisor: <c>spec</c> (bubblewrap, the
/// command's depth, the argument count and arguments, then the environment), later <c>go</c>,
/// <c>no</c> (bubblewrap failed) or <c>refused</c> (the host refused the sandbox, for a reason it
/// keeps). Supervisor → host: <c>init</c> PID once bubblewrap reported the sandbox's init, then
/// <c>exit</c> (status, milliseconds, what stopped it before the start, whether a repeat killed it) or
/// <c>fail</c> (a catalog code and its message's arguments).
/// </remarks>
internal static class SupervisorChannel
{
    /// <summary>No message is larger: an argument vector of bubblewrap with every bind is far smaller.</summary>
    internal const int MaxMessageBytes = 4 << 20;

    public static void Send(Socket socket, params IEnumerable<string> fields)
    {
        var payload = Encoding.UTF8.GetBytes(string.Join('\0', fields));
        if (payload.Length > MaxMessageBytes)
        {
            throw new IOException($"a message of {payload.Length} bytes is over the channel's {MaxMessageBytes}");
        }

        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, payload.Length);
        payload.CopyTo(frame, 4);
        var sent = 0;
        while (sent < frame.Length)
        {
            sent += socket.Send(frame, sent, frame.Length - sent, SocketFlags.None);
        }
    }

    /// <summary>The next message's fields, or <see langword="null"/> at the end of the stream.</summary>
    /// <exception cref="IOException">A message is cut short, too large, or not UTF-8.</exception>
    public static string[]? Receive(Socket socket)
    {
        var header = new byte[4];
        if (!ReadExactly(socket, header, allowEnd: true))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length is < 0 or > MaxMessageBytes)
        {
            throw new IOException($"a message of {length} bytes is announced; the channel takes at most {MaxMessageBytes}");
        }

        var payload = new byte[length];
        _ = ReadExactly(socket, payload, allowEnd: false);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(payload).Split('\0');
        }
        catch (DecoderFallbackException ex)
        {
            throw new IOException("a message is not UTF-8", ex);
        }
    }

    private static bool ReadExactly(Socket socket, byte[] buffer, bool allowEnd)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = socket.Receive(buffer, read, buffer.Length - read, SocketFlags.None);
            if (n == 0)
            {
                return read == 0 && allowEnd ? false : throw new IOException("the channel ended in the middle of a message");
            }

            read += n;
        }

        return true;
    }
}
