using System.Net;
using System.Net.Sockets;

namespace SandboxedBuild.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP relay on the host's loopback in front of another loopback server: counts the connections
/// it got and the most that were open at once, which a server behind it may not tell.
/// </summary>
public sealed class LoopbackCountingRelay : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private int _open;
    private int _maxOpen;
    private int _connections;

    public LoopbackCountingRelay(int targetPort)
    {
        _target = targetPort;
        _listener.Start(512);
        _ = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int MaxOpen => Volatile.Read(ref _maxOpen);

    public int Connections => Volatile.Read(ref _connections);

    public void Dispose() => _listener.Stop();

    private async Task AcceptLoopAsync()
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

            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var open = Interlocked.Increment(ref _open);
        for (var max = Volatile.Read(ref _maxOpen); open > max && Interlocked.CompareExchange(ref _maxOpen, open, max) != max; max = Volatile.Read(ref _maxOpen))
        {
        }

        try
        {
            using var c = client;
            using var server = new TcpClient();
            await server.ConnectAsync(IPAddress.Loopback, _target);
            var a = c.GetStream();
            var b = server.GetStream();
            var up = Task.Run(async () =>
            {
                await a.CopyToAsync(b);
                server.Client.Shutdown(SocketShutdown.Send);
            });
            await b.CopyToAsync(a);
            c.Client.Shutdown(SocketShutdown.Send);
            await up;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }
}
