using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SandboxedBuild.Network;

/// <summary>
/// Hands a connected socket from the bridge inside the sandbox to the proxy outside over their unix
/// socket (SCM_RIGHTS). The proxy then talks to the command's connection directly: one relay instead
/// of two, which is what lets large downloads through the proxy run near the speed of a direct one.
/// A descriptor crosses namespaces unchanged; the proxy only reads and writes it, and accepts only
/// sockets, so a hostile sender gains nothing it did not already have.
/// </summary>
internal static unsafe partial class DescriptorPassing
{
    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const int MsgCmsgCloexec = 0x40000000;
    private const int MsgNoSignal = 0x4000;

    // One cmsghdr (len, level, type: 16 bytes on 64-bit Linux) followed by one int, padded to 8.
    private const int ControlSize = 24;

    /// <summary>Sends <paramref name="descriptor"/> over the connected unix socket, with one marker byte.</summary>
    public static void Send(Socket unix, Socket descriptor)
    {
        byte marker = (byte)'F';
        var control = stackalloc byte[ControlSize];
        new Span<byte>(control, ControlSize).Clear();
        *(nuint*)control = 20; // CMSG_LEN(sizeof(int))
        *(int*)(control + 8) = SolSocket;
        *(int*)(control + 12) = ScmRights;
        *(int*)(control + 16) = (int)descriptor.Handle;

        var iov = new IoVec { Base = &marker, Length = 1 };
        var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlSize };
        if (sendmsg((int)unix.Handle, &msg, MsgNoSignal) != 1)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>
    /// Reads the first message of a connection: a socket handed over by the bridge, or the first
    /// bytes of a request from a client speaking HTTP on the unix socket itself.
    /// </summary>
    /// <returns>The handed-over socket, or <see langword="null"/> and the bytes read.</returns>
    public static (Socket? Passed, byte[] Data) Receive(Socket unix)
    {
        var buffer = new byte[4096];
        var control = stackalloc byte[ControlSize];
        nint received;
        int passed = -1;
        fixed (byte* data = buffer)
        {
            var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
            var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlSize };
            do
            {
                received = recvmsg((int)unix.Handle, &msg, MsgCmsgCloexec);
            }
            while (received < 0 && Marshal.GetLastPInvokeError() == 4); // EINTR

            if (received < 0)
            {
                throw new SocketException(Marshal.GetLastPInvokeError());
            }

            if (msg.ControlLength >= 20 && *(int*)(control + 8) == SolSocket && *(int*)(control + 12) == ScmRights)
            {
                passed = *(int*)(control + 16);
            }
        }

        if (passed < 0)
        {
            return (null, buffer[..(int)received]);
        }

        var handle = new SafeSocketHandle(passed, ownsHandle: true);
        try
        {
            var socket = new Socket(handle);
            return socket.SocketType == SocketType.Stream ? (socket, []) : throw new SocketException((int)SocketError.ProtocolType);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendmsg(int socket, MsgHdr* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int socket, MsgHdr* message, int flags);
}
