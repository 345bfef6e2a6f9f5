using System.Net.Sockets;
using System.Runtime.InteropServices;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Network;

/// <summary>
/// Hands a connected socket from the bridge inside the sandbox to the proxy outside over their unix
/// socket (SCM_RIGHTS). The proxy then talks to the command's connection directly: one relay instead
/// of two, which is what lets large downloads through the proxy run near the speed of a direct one.
/// A descriptor crosses namespaces unchanged; the proxy only reads and writes it, accepts exactly one
/// stream socket per connection and closes anything else that arrives, so a hostile sender gains
/// nothing it did not already have and cannot make the proxy hold descriptors open.
/// </summary>
internal static unsafe class DescriptorPassing
{
    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const int MsgCtrunc = 0x8;
    private const int MsgCmsgCloexec = 0x40000000;
    private const int MsgNoSignal = 0x4000;

    // A cmsghdr is len (size_t), level, type: 16 bytes on 64-bit Linux; its data is padded to 8.
    private const int HeaderSize = 16;

    // Room for far more descriptors than the one the bridge sends, so that a sender passing extra
    // ones is seen (and they are closed) rather than left open here; beyond this the kernel drops
    // them itself and says so with MSG_CTRUNC.
    private const int ReceiveControlSize = HeaderSize + (64 * sizeof(int));

    /// <summary>Sends <paramref name="descriptor"/> over the connected unix socket, with one marker byte.</summary>
    public static void Send(Socket unix, Socket descriptor) => Send(unix, [(int)descriptor.Handle], "F"u8);

    /// <summary>Sends <paramref name="descriptor"/> with a short message that says what it is (see <see cref="Bridge"/>).</summary>
    public static void Send(Socket unix, Socket descriptor, ReadOnlySpan<byte> message) => Send(unix, [(int)descriptor.Handle], message);

    /// <summary>Sends <paramref name="descriptors"/> in one SCM_RIGHTS message with one marker byte (the tests pass more than one).</summary>
    internal static void Send(Socket unix, ReadOnlySpan<int> descriptors) => Send(unix, descriptors, "F"u8);

    /// <summary>Sends <paramref name="descriptors"/> in one SCM_RIGHTS message carrying <paramref name="message"/>.</summary>
    internal static void Send(Socket unix, ReadOnlySpan<int> descriptors, ReadOnlySpan<byte> message)
    {
        var length = HeaderSize + (descriptors.Length * sizeof(int));
        var space = (length + 7) & ~7;
        var control = stackalloc byte[space];
        new Span<byte>(control, space).Clear();
        *(nuint*)control = (nuint)length; // CMSG_LEN(n * sizeof(int))
        *(int*)(control + 8) = SolSocket;
        *(int*)(control + 12) = ScmRights;
        descriptors.CopyTo(new Span<int>(control + HeaderSize, descriptors.Length));

        fixed (byte* data = message)
        {
            var iov = new NativeMethods.IoVec { Base = data, Length = (nuint)message.Length };
            var msg = new NativeMethods.MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)space };
            if (NativeMethods.sendmsg((int)unix.Handle, &msg, MsgNoSignal) != message.Length)
            {
                throw new SocketException(Marshal.GetLastPInvokeError());
            }
        }
    }

    /// <summary>
    /// Reads the first message of a connection: a socket handed over by the bridge, or the first
    /// bytes of a request from a client speaking HTTP on the unix socket itself.
    /// </summary>
    /// <returns>The handed-over socket, or <see langword="null"/> and the bytes read.</returns>
    /// <exception cref="IOException">
    /// The message carried other than exactly one descriptor, or more than fit (MSG_CTRUNC): not
    /// what the bridge sends. Every descriptor that arrived has been closed.
    /// </exception>
    public static (Socket? Passed, byte[] Data) Receive(Socket unix)
    {
        var buffer = new byte[4096];
        var control = stackalloc byte[ReceiveControlSize];
        var descriptors = new List<int>();
        nint received;
        bool truncated;
        fixed (byte* data = buffer)
        {
            var iov = new NativeMethods.IoVec { Base = data, Length = (nuint)buffer.Length };
            var msg = new NativeMethods.MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ReceiveControlSize };
            do
            {
                received = NativeMethods.recvmsg((int)unix.Handle, &msg, MsgCmsgCloexec);
            }
            while (received < 0 && Marshal.GetLastPInvokeError() == 4); // EINTR

            if (received < 0)
            {
                throw new SocketException(Marshal.GetLastPInvokeError());
            }

            // Every descriptor in every control message is now open in this process: collect them
            // all, so that none stays open whatever the sender packed in.
            truncated = (msg.Flags & MsgCtrunc) != 0;
            var controlLength = (int)Math.Min(msg.ControlLength, (nuint)ReceiveControlSize);
            for (var offset = 0; offset + HeaderSize <= controlLength;)
            {
                var length = (int)Math.Min(*(nuint*)(control + offset), (nuint)(controlLength - offset));
                if (length < HeaderSize)
                {
                    break;
                }

                if (*(int*)(control + offset + 8) == SolSocket && *(int*)(control + offset + 12) == ScmRights)
                {
                    for (var at = HeaderSize; at + sizeof(int) <= length; at += sizeof(int))
                    {
                        descriptors.Add(*(int*)(control + offset + at));
                    }
                }

                offset += (length + 7) & ~7;
            }
        }

        if (descriptors.Count == 0 && !truncated)
        {
            return (null, buffer[..(int)received]);
        }

        if (descriptors.Count != 1 || truncated)
        {
            foreach (var fd in descriptors)
            {
                _ = Interop.NativeMethods.close(fd);
            }

            throw new IOException($"a connection on the proxy's socket passed {descriptors.Count}{(truncated ? " or more" : string.Empty)} descriptors where the bridge passes exactly one; all were closed and the connection dropped");
        }

        var handle = new SafeSocketHandle(descriptors[0], ownsHandle: true);
        try
        {
            var socket = new Socket(handle);
            return socket.SocketType == SocketType.Stream ? (socket, buffer[..(int)received]) : throw new SocketException((int)SocketError.ProtocolType);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
