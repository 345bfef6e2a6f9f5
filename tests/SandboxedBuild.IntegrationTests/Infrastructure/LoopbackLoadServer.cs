using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace SandboxedBuild.IntegrationTests.Infrastructure;

/// <summary>
/// An HTTP/1.1 server on the host's loopback for load and fault tests: answers each request with a
/// body made from its path (so that every tunnel's bytes can be told apart and checked), of a fixed
/// size or without end; can hold every answer until a number of connections are open at once, and
/// counts the most that were.
/// </summary>
public sealed class LoopbackLoadServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly long? _bodySize;
    private readonly int _holdUntilOpen;
    private readonly TimeSpan _linger;
    private readonly TaskCompletionSource _enoughOpen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _open;
    private int _maxOpen;
    private int _connections;

    /// <param name="bodySize">The size of every body; <see langword="null"/> sends until the connection breaks.</param>
    /// <param name="holdUntilOpen">Answer nothing until this many connections are open at once (or 30 s passed).</param>
    /// <param name="bodySize">The size of each response body; endless when <see langword="null"/>.</param>
    /// <param name="holdUntilOpen">Answer nothing until this many connections are open at once.</param>
    /// <param name="linger">After the response, wait for the client to close and then this long before closing too, like a server slow to notice.</param>
    public LoopbackLoadServer(long? bodySize, int holdUntilOpen = 0, TimeSpan linger = default)
    {
        _bodySize = bodySize;
        _holdUntilOpen = holdUntilOpen;
        _linger = linger;
        _listener.Start(1024);
        _ = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The most connections that were open at once.</summary>
    public int MaxOpen => Volatile.Read(ref _maxOpen);

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>The body the server sends for <paramref name="path"/>: the path and a newline, repeated, cut at <paramref name="size"/>.</summary>
    public static byte[] Body(string path, long size)
    {
        var unit = Encoding.ASCII.GetBytes(path + "\n");
        var body = new byte[size];
        for (var i = 0L; i < size; i++)
        {
            body[i] = unit[i % unit.Length];
        }

        return body;
    }

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
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
        var open = Interlocked.Increment(ref _open);
        for (var max = Volatile.Read(ref _maxOpen); open > max && Interlocked.CompareExchange(ref _maxOpen, open, max) != max; max = Volatile.Read(ref _maxOpen))
        {
        }

        if (open >= _holdUntilOpen)
        {
            _enoughOpen.TrySetResult();
        }

        try
        {
            var stream = client.GetStream();
            var head = new List<byte>();
            var one = new byte[1];
            while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n') && await stream.ReadAsync(one) == 1)
            {
                head.Add(one[0]);
            }

            var line = Encoding.ASCII.GetString([.. head]).Split("\r\n")[0].Split(' ');
            var path = line.Length > 1 ? line[1] : "/";
            await Task.WhenAny(_enoughOpen.Task, Task.Delay(TimeSpan.FromSeconds(30)));
            var length = _bodySize ?? (1L << 40);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"));
            var unit = Encoding.ASCII.GetBytes(path + "\n");
            var chunk = new byte[64 * 1024 / unit.Length * unit.Length];
            for (var i = 0; i < chunk.Length; i++)
            {
                chunk[i] = unit[i % unit.Length];
            }

            for (var sent = 0L; sent < length;)
            {
                var n = (int)Math.Min(chunk.Length, length - sent);
                await stream.WriteAsync(chunk.AsMemory(0, n));
                sent += n;
            }

            if (_linger > TimeSpan.Zero)
            {
                while (await stream.ReadAsync(one) > 0)
                {
                }

                await Task.Delay(_linger);
            }
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
