using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SandboxedBuild.IntegrationTests.Infrastructure;

/// <summary>
/// A minimal HTTP/1.1 server on the host's loopback: answers every request with a body of a fixed
/// size and closes; counts the connections it accepted, so tests can tell that a refused request
/// never reached it.
/// </summary>
public sealed class LoopbackHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly long _bodySize;
    private int _connections;

    public LoopbackHttpServer(long bodySize = 12)
    {
        _bodySize = bodySize;
        _listener.Start(512);
        _ = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Connections => Volatile.Read(ref _connections);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var head = new List<byte>();
            var one = new byte[1];
            while (!EndsWithBlankLine(head) && await stream.ReadAsync(one) == 1)
            {
                head.Add(one[0]);
            }

            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {_bodySize}\r\nConnection: close\r\n\r\n"));
            var chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
            for (var sent = 0L; sent < _bodySize;)
            {
                var n = (int)Math.Min(chunk.Length, _bodySize - sent);
                await stream.WriteAsync(chunk.AsMemory(0, n));
                sent += n;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
        }
    }

    private static bool EndsWithBlankLine(List<byte> b) =>
        b.Count >= 4 && b[^4] == '\r' && b[^3] == '\n' && b[^2] == '\r' && b[^1] == '\n';
}
