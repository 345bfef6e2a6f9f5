using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SandboxedBuild.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP server on the host's loopback that reads until the client half-closes, then answers with
/// the number of bytes it got: it answers only if the end of the client's stream arrives.
/// </summary>
public sealed class LoopbackCountingServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public LoopbackCountingServer()
    {
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    using var c = client;
                    var stream = c.GetStream();
                    var buffer = new byte[65536];
                    long total = 0;
                    int read;
                    while ((read = await stream.ReadAsync(buffer)) > 0)
                    {
                        total += read;
                    }

                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"got {total} bytes\n"));
                });
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Dispose() => _listener.Stop();
}
