using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SandboxedBuild.Network;

namespace SandboxedBuild.Core.Tests;

/// <summary>Alone in its collection: it counts the thread pool's work items, which other tests would add to.</summary>
[CollectionDefinition(nameof(ThreadPoolQuiet), DisableParallelization = true)]
public sealed class ThreadPoolQuiet;

/// <summary>
/// The proxy in-process, with a connection handed over the way the bridge does it: a large download
/// must go through without the runtime's socket engine waking the thread pool for its packets.
/// </summary>
[Collection(nameof(ThreadPoolQuiet))]
public sealed class EgressProxyRelayTests : IDisposable
{
    private const long Size = 256L * 1024 * 1024;

    private readonly string _directory = Directory.CreateTempSubdirectory("sbx-relay-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_relayed_download_does_not_keep_the_thread_pool_busy()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("the splice relay and descriptor passing are Linux-only");
        }

        using var origin = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        origin.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        origin.Listen(1);
        var port = ((IPEndPoint)origin.LocalEndPoint!).Port;
        var serving = new Thread(() =>
        {
            // Plain blocking calls here and below: only the proxy may use the thread pool.
            using var peer = origin.Accept();
            var chunk = new byte[1024 * 1024];
            for (long sent = 0; sent < Size; sent += chunk.Length)
            {
                peer.Send(chunk);
            }
        }) { IsBackground = true };
        serving.Start();

        var policy = new NetworkPolicy(NetworkMode.Filtered, [HostRule.Parse($"127.0.0.1:{port}", "--allow-host", "test")], ImmutableArray<HostRule>.Empty, "test");
        var proxy = EgressProxy.Start(policy, Path.Combine(_directory, "proxy.sock"), new AddressGuard([]));
        try
        {
            using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            unix.Connect(new UnixDomainSocketEndPoint(proxy.SocketPath));
            var (mine, theirs) = TcpPair();
            using (mine)
            {
                DescriptorPassing.Send(unix, theirs);
                theirs.Dispose();

                var before = ThreadPool.CompletedWorkItemCount;
                mine.Send(Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n"));
                var buffer = new byte[1024 * 1024];
                long received = 0;
                int read;
                while ((read = mine.Receive(buffer)) > 0)
                {
                    received += read;
                }

                var workItems = ThreadPool.CompletedWorkItemCount - before;
                Assert.Equal(Size + "HTTP/1.1 200 Connection established\r\n\r\n".Length, received);

                // None or a few once the connection is handed over; before the fix every burst of
                // packets queued one (70 to 90 for these 256 MiB here), and woke idle workers that
                // then spun looking for more.
                Assert.True(workItems < 20, $"{workItems} thread pool work items for one relayed download");
            }
        }
        finally
        {
            await proxy.DisposeAsync();
        }
    }

    private static (Socket Mine, Socket Theirs) TcpPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var mine = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        mine.Connect(listener.LocalEndPoint!);
        return (mine, listener.Accept());
    }
}
