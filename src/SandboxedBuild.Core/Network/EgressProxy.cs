using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SandboxedBuild.Network;

/// <summary>
/// The only way out of the sandbox: a forward proxy that listens on a unix socket outside the
/// sandbox, decides every CONNECT tunnel and absolute-form HTTP request by the policy, checks what an
/// allowed name resolves to before dialing, and records every decision.
/// </summary>
public sealed class EgressProxy : IAsyncDisposable
{
    private static readonly TimeSpan DialTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(30);

    private readonly NetworkPolicy _policy;
    private readonly AddressGuard _guard;
    private readonly IHostPrompt? _prompt;
    private readonly Action<string>? _onBlocked;
    private readonly Action<HostRule>? _onAlways;
    private readonly Socket _listener;
    private readonly ConcurrentQueue<ConnectionRecord> _records = new();
    private readonly ConcurrentDictionary<(string, int), PromptAnswer> _answers = new();
    private readonly ConcurrentDictionary<(string, int), byte> _reported = new();
    private readonly SemaphoreSlim _promptLock = new(1, 1);
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private readonly Task _acceptLoop;

    private EgressProxy(NetworkPolicy policy, string socketPath, AddressGuard guard, IHostPrompt? prompt, Action<string>? onBlocked, Action<HostRule>? onAlways)
    {
        _policy = policy;
        _guard = guard;
        _prompt = prompt;
        _onBlocked = onBlocked;
        _onAlways = onAlways;
        SocketPath = socketPath;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            _listener.Listen(512);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }

        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The unix socket the proxy listens on.</summary>
    public string SocketPath { get; }

    /// <summary>Every decision so far, in order.</summary>
    public IReadOnlyList<ConnectionRecord> Records => [.. _records];

    /// <summary>Starts the proxy on <paramref name="socketPath"/>.</summary>
    /// <param name="policy">Which hosts are allowed.</param>
    /// <param name="socketPath">Where to listen; its directory should be private to the caller.</param>
    /// <param name="guard">Which resolved addresses are refused.</param>
    /// <param name="prompt">Asks about undecided hosts; <see langword="null"/> denies them.</param>
    /// <param name="onBlocked">Told about every refusal, as a one-line message.</param>
    /// <param name="onAlways">Told when the user allows a host for good.</param>
    public static EgressProxy Start(NetworkPolicy policy, string socketPath, AddressGuard guard, IHostPrompt? prompt = null, Action<string>? onBlocked = null, Action<HostRule>? onAlways = null) =>
        new(policy, socketPath, guard, prompt, onBlocked, onAlways);

    /// <summary>Stops accepting and waits (briefly) for open connections to finish.</summary>
    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAny(Task.WhenAll(_connections.Keys), Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        _promptLock.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }

            var task = Task.Run(() => ServeGuardedAsync(client));
            _connections.TryAdd(task, 0);
            _ = task.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeGuardedAsync(Socket connection)
    {
        try
        {
            // The bridge hands over the command's own connection; a client inside the sandbox may
            // also speak HTTP on the unix socket directly.
            using (var timeout = new CancellationTokenSource(HeadTimeout))
            {
                // A zero-byte receive waits for the first message without taking it, and without a thread.
                await connection.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            }

            var (passed, data) = DescriptorPassing.Receive(connection);
            if (passed is not null && Bridge.ForwardedPort(data) is { } forwarded)
            {
                connection.Dispose();
                await ServeForwardedAsync(passed, forwarded).ConfigureAwait(false);
            }
            else if (passed is not null)
            {
                connection.Dispose();
                await ServeAsync(passed, default).ConfigureAwait(false);
            }
            else
            {
                await ServeAsync(connection, data).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Nothing arrived in time; the connection is closed below.
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException or InvalidOperationException or ArgumentException)
        {
            // A bug or an unexpected state in one connection must not take the others down; it is recorded.
            _records.Enqueue(new ConnectionRecord("?", 0, false, "proxy error: " + ex.Message, 0, 0));
            _onBlocked?.Invoke("egress proxy error: " + ex.GetType().Name + ": " + ex.Message);
        }
        finally
        {
            // Served or not, the connection on the proxy's own socket ends here (disposing twice is harmless).
            connection.Dispose();
        }
    }

    /// <summary>
    /// A connection the command made to a loopback port inside the sandbox that the bridge forwards:
    /// to the host's loopback at the same port, when an allow entry names that port for a loopback
    /// host. The bytes are the client's own protocol (a database, a feed), relayed unchanged.
    /// </summary>
    private async Task ServeForwardedAsync(Socket client, int port)
    {
        using var _ = client;
        const string host = "127.0.0.1";
        if (_policy.LoopbackForwards().FirstOrDefault(f => f.Port == port) is not { Rule: { } rule })
        {
            _records.Enqueue(new ConnectionRecord(host, port, false, "no allow entry names this loopback port", 0, 0));
            _onBlocked?.Invoke($"blocked: {host}:{port} — no allow entry names this loopback port; allow with --allow-host 127.0.0.1:{port}");
            return;
        }

        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = new CancellationTokenSource(DialTimeout);
            await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            _records.Enqueue(new ConnectionRecord(host, port, false, "connection failed: " + ex.Message, 0, 0, Failed: true));
            return;
        }

        var (up, down) = await SocketRelay.RelayAsync(client, server, default).ConfigureAwait(false);
        _records.Enqueue(new ConnectionRecord(host, port, true, rule.Reason + " (forwarded from the sandbox's loopback)", up, down, Rule: rule));
    }

    private async Task ServeAsync(Socket client, ReadOnlyMemory<byte> alreadyRead)
    {
        using var _ = client;
        var (head, leftover) = await ReadHeadAsync(client, alreadyRead).ConfigureAwait(false);
        if (head is null)
        {
            await RespondAsync(client, "400 Bad Request", "dotnet-sandbox: the egress proxy serves CONNECT host:port and absolute-form http:// requests only").ConfigureAwait(false);
            return;
        }

        var host = HostRule.NormalizeHost(head.Host);
        var decision = await DecideAsync(host, head.Port).ConfigureAwait(false);
        if (decision.Verdict != Verdict.Allowed)
        {
            await RefuseAsync(client, host, head.Port, decision.Reason).ConfigureAwait(false);
            return;
        }

        var (addresses, refusal, unresolved) = await ResolveAsync(host, head.Port, decision).ConfigureAwait(false);
        if (unresolved is not null)
        {
            _records.Enqueue(new ConnectionRecord(host, head.Port, false, unresolved, 0, 0, Failed: true));
            await RespondAsync(client, "502 Bad Gateway", "dotnet-sandbox: " + unresolved).ConfigureAwait(false);
            return;
        }

        if (refusal is not null)
        {
            await RefuseAsync(client, host, head.Port, refusal).ConfigureAwait(false);
            return;
        }

        using var server = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true, NoDelay = true };
        try
        {
            using var timeout = new CancellationTokenSource(DialTimeout);
            await server.ConnectAsync(addresses.Select(a => a.AddressFamily == AddressFamily.InterNetwork ? a.MapToIPv6() : a).ToArray(), head.Port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            _records.Enqueue(new ConnectionRecord(host, head.Port, false, "connection failed: " + ex.Message, 0, 0, Failed: true));
            await RespondAsync(client, "502 Bad Gateway", $"dotnet-sandbox: could not connect to {host}:{head.Port}: {ex.Message}").ConfigureAwait(false);
            return;
        }

        long up, down;
        if (head.IsConnect)
        {
            await client.SendAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), SocketFlags.None).ConfigureAwait(false);
            (up, down) = await SocketRelay.RelayAsync(client, server, leftover).ConfigureAwait(false);
        }
        else
        {
            var request = head.ToOriginRequest();
            var first = new byte[request.Length + leftover.Length];
            request.CopyTo(first, 0);
            leftover.CopyTo(first.AsMemory(request.Length));
            (up, down) = await SocketRelay.RelayAsync(client, server, first).ConfigureAwait(false);
        }

        _records.Enqueue(new ConnectionRecord(host, head.Port, true, decision.Reason, up, down, Rule: decision.Rule));
    }

    private async Task<Decision> DecideAsync(string host, int port)
    {
        var decision = _policy.Decide(host, port);
        if (decision.Verdict != Verdict.Undecided)
        {
            return decision;
        }

        if (_prompt is null)
        {
            return decision with { Verdict = Verdict.Denied };
        }

        // One question at a time, and each host asked about once per run.
        await _promptLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var answer = _answers.GetOrAdd((host, port), _ => _prompt.Ask(host, port));
            if (answer == PromptAnswer.Always && _answers.TryUpdate((host, port), PromptAnswer.Once, PromptAnswer.Always))
            {
                _onAlways?.Invoke(new HostRule(host, HostRule.DefaultPorts.Contains(port) ? null : port, "allowed always at a prompt"));
            }

            if (answer == PromptAnswer.Deny)
            {
                return decision with { Verdict = Verdict.Denied, Reason = "refused at the prompt; " + decision.Reason };
            }

            // The user named this very host and port, so a literal address counts as explicitly allowed.
            var reason = answer == PromptAnswer.Always ? "allowed always at the prompt" : "allowed once at the prompt";
            return new Decision(Verdict.Allowed, reason, new HostRule(host, port, reason));
        }
        finally
        {
            _promptLock.Release();
        }
    }

    private async Task<(IPAddress[] Addresses, string? Refusal, string? Unresolved)> ResolveAsync(string host, int port, Decision decision)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            // A literal address is reached only as typed: a refused kind needs an explicit entry for that very address.
            return _guard.WhyRefused(literal) is { } why && decision.Rule?.IsAddress != true
                ? ([], $"{host} is {why}; allow that address explicitly with --allow-host {RuleText(host, port)}", null)
                : ([literal], null, null);
        }

        IPAddress[] resolved;
        try
        {
            using var timeout = new CancellationTokenSource(DialTimeout);
            resolved = await Dns.GetHostAddressesAsync(host, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return ([], null, $"could not resolve {host}: {ex.Message}");
        }

        var allowed = resolved.Where(a => _guard.WhyRefused(a) is null).ToArray();
        if (allowed.Length > 0)
        {
            return (allowed, null, null);
        }

        var first = resolved.FirstOrDefault();
        return first is null
            ? ([], null, $"{host} resolves to no address")
            : ([], RebindingRefusal(host, HostRule.Normalize(first), _guard.WhyRefused(first)!, port), null);
    }

    /// <summary>
    /// Why a name that resolves only to refused addresses is refused, and what does work: a name
    /// never leads there, even when its address is allowed; only a request for the address does.
    /// </summary>
    internal static string RebindingRefusal(string host, IPAddress address, string why, int port)
    {
        var target = RuleText(address.ToString(), port);
        return $"{host} resolves to {address} ({why}); a name is never let through to such an address, not even when the address itself is allowed, " +
            $"so that no allowed name can be made to lead there (DNS rebinding); to reach it, request the address itself " +
            $"(http://{target}/ rather than http://{RuleText(host, port)}/) and allow it with --allow-host {target}";
    }

    private static string RuleText(string host, int port) => (host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host) + ":" + port;

    private async Task RefuseAsync(Socket client, string host, int port, string reason)
    {
        _records.Enqueue(new ConnectionRecord(host, port, false, reason, 0, 0));
        var display = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
        var message = $"blocked: {display} — {reason}";
        if (_reported.TryAdd((host, port), 0))
        {
            // Once per destination while the command runs; the summary at the end counts them all.
            _onBlocked?.Invoke(message);
        }

        await RespondAsync(client, "403 Forbidden", "dotnet-sandbox: " + message).ConfigureAwait(false);
    }

    private static async Task RespondAsync(Socket client, string status, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body + "\n");
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\nX-Sandbox-Blocked: 1\r\n\r\n");
        try
        {
            await client.SendAsync(head.Concat(bytes).ToArray(), SocketFlags.None).ConfigureAwait(false);
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The client went away; nothing to tell it.
        }
    }

    private static async Task<(HttpRequestHead? Head, ReadOnlyMemory<byte> Leftover)> ReadHeadAsync(Socket client, ReadOnlyMemory<byte> alreadyRead)
    {
        var buffer = new byte[HttpRequestHead.MaxLength];
        alreadyRead.CopyTo(buffer);
        var length = alreadyRead.Length;
        if (FindHead(buffer, length, 0) is { } early)
        {
            return early;
        }

        using var timeout = new CancellationTokenSource(HeadTimeout);
        try
        {
            while (length < buffer.Length)
            {
                var read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return (null, default);
                }

                var searchFrom = Math.Max(0, length - 3);
                length += read;
                if (FindHead(buffer, length, searchFrom) is { } found)
                {
                    return found;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
        }

        return (null, default);
    }

    private static (HttpRequestHead? Head, ReadOnlyMemory<byte> Leftover)? FindHead(byte[] buffer, int length, int searchFrom)
    {
        var end = buffer.AsSpan(searchFrom, length - searchFrom).IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return null;
        }

        var headLength = searchFrom + end + 4;
        return (HttpRequestHead.Parse(buffer.AsSpan(0, headLength - 4)), buffer.AsMemory(headLength, length - headLength));
    }
}
