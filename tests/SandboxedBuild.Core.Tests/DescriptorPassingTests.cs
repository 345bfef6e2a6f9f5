using System.Net;
using System.Net.Sockets;
using SandboxedBuild.Network;

namespace SandboxedBuild.Core.Tests;

/// <summary>
/// The proxy's end of the hand-over: exactly one descriptor is taken, and whatever else a hostile
/// sender packs into the message is closed, not left open in the proxy.
/// </summary>
public sealed class DescriptorPassingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sbx-fd-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void One_descriptor_is_taken_and_works()
    {
        var (sender, receiver) = UnixPair();
        var (mine, peer) = TcpPair();
        using (sender)
        using (receiver)
        using (peer)
        {
            DescriptorPassing.Send(sender, mine);
            mine.Dispose();
            var (passed, _) = DescriptorPassing.Receive(receiver);
            using var socket = Assert.IsType<Socket>(passed);
            socket.Send("hi"u8);
            var buffer = new byte[2];
            Assert.Equal(2, peer.Receive(buffer));
        }
    }

    [Fact]
    public void Without_a_descriptor_the_bytes_are_the_request()
    {
        var (sender, receiver) = UnixPair();
        using (sender)
        using (receiver)
        {
            sender.Send("CONNECT a:443 HTTP/1.1\r\n"u8);
            var (passed, data) = DescriptorPassing.Receive(receiver);
            Assert.Null(passed);
            Assert.StartsWith("CONNECT", System.Text.Encoding.ASCII.GetString(data), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(200)] // more than the receiver has room for: the kernel drops the rest and sets MSG_CTRUNC
    public void Extra_descriptors_are_refused_and_every_one_is_closed(int count)
    {
        var (sender, receiver) = UnixPair();
        var (mine, peer) = TcpPair();
        using (sender)
        using (receiver)
        using (peer)
        {
            DescriptorPassing.Send(sender, Enumerable.Repeat((int)mine.Handle, count).ToArray());
            mine.Dispose();

            Assert.Throws<IOException>(() => DescriptorPassing.Receive(receiver));

            // The peer sees the end of the stream only once every copy of 'mine' is closed, the
            // ones the receiver got included.
            peer.ReceiveTimeout = 5000;
            Assert.Equal(0, peer.Receive(new byte[1]));
        }
    }

    private (Socket Sender, Socket Receiver) UnixPair()
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N")[..8]);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var sender = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        sender.Connect(new UnixDomainSocketEndPoint(path));
        return (sender, listener.Accept());
    }

    private static (Socket Mine, Socket Peer) TcpPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var mine = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        mine.Connect(listener.LocalEndPoint!);
        return (mine, listener.Accept());
    }
}
