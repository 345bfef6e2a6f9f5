using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SandboxedBuild.Diagnostics;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Network;

/// <summary>
/// The only way out of the sandbox: a forward proxy that listens on a unix socket outside the
/// sandbox, decides every CONNECT tunnel and absolute-form HTTP request by the policy, checks what an
/// allowed name resolves to before dialing, and records every decision. Started alone (<see cref="Start"/>)
/// it serves one run; opened by a <see cref="ProxyHost"/> it is one session of that host, which many runs share.
/// </summary>
public sealed class EgressProxy : IAsyncDisposable
{
    private static readonly TimeSpan DialTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a connection over the bound gets to show a head that can be answered with 503.</summary>
    private static readonly TimeSpan OverloadAnswerTime = TimeSpan.FromSeconds(1);

    /// <summary>At most this many connections over the bound are answered at once; the rest are just closed.</summary>
    private const int MaxOverloadAnswers = 16;

    /// <summary>At most this many SBX6006 lines are printed while a command runs; the records and the summary count them all.</summary>
    private const int MaxMalformedLines = 10;

    private readonly NetworkPolicy _policy;
    private readonly AddressGuard _guard;
    private readonly IHostPrompt? _prompt;
    private readonly Action<Diagnostic>? _onBlocked;
    private readonly Action<HostRule>? _onAlways;
    private readonly Action<ConnectionRecord>? _onConnection;
    private readonly IRemedyWording _wording;
    private readonly Socket _listener;
    private readonly ConcurrentQueue<ConnectionRecord> _records = new();
    private readonly ConcurrentDictionary<(string, int), PromptAnswer> _answers = new();
    private readonly ConcurrentDictionary<string, byte> _reported = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _promptLock;
    private readonly ProxyHost? _host;
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private readonly ProxyLimits _limits;
    private readonly Task _acceptLoop;
    private readonly RelayMonitor _monitor;
    private (Errors.ErrorCode Code, string Reason)? _fault;
    private volatile bool _disposing;
    // Every connection held (_active), and those whose sandbox side has not finished sending (_open).
    // The bound is on the open ones; a closing tunnel, which waits only for the server to end its
    // side, counts against twice the bound, so that half-closing cannot be used to hold more.
    private int _active;
    private int _open;
    private int _overloaded;
    private int _overloadAnswers;
    private int _malformedLines;
    private long _refusedOverLimit;
    private volatile bool _bridgeReady;
    private string? _bridgeFailure;

    private EgressProxy(NetworkPolicy policy, string socketPath, AddressGuard guard, IHostPrompt? prompt, Action<Diagnostic>? onBlocked, Action<HostRule>? onAlways, ProxyLimits limits, ProxyFaultInjection? injection, IRemedyWording? wording = null, Action<ConnectionRecord>? onConnection = null, ProxyHost? host = null, int sessionId = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxConnections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limits.HeadTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limits.IdleTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limits.StallTimeout, TimeSpan.Zero);
        if (injection is { Kind: ProxyFaultKind.SlowStart, AfterBytes: var delay })
        {
            Thread.Sleep(TimeSpan.FromMilliseconds(Math.Min(delay, 60_000)));
        }

        _limits = limits;
        _host = host;
        SessionId = sessionId;

        // The sessions of one host take turns at its prompt; a proxy alone has its own.
        _promptLock = host?.PromptTurn ?? new SemaphoreSlim(1, 1);
        _policy = policy;
        _guard = guard;
        _prompt = prompt;
        _onBlocked = onBlocked;
        _onAlways = onAlways;
        _onConnection = onConnection;
        _wording = wording ?? RemedyWording.Neutral;
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

        _monitor = new RelayMonitor(_listener, limits.StallTimeout, (code, reason) => _fault = (code, reason), injection);
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>
    /// Why the proxy stopped serving during the run (SBX6009 failed, SBX6010 stopped reading), or
    /// <see langword="null"/>. After a fault every connection it held was closed and new ones are refused.
    /// </summary>
    public (Errors.ErrorCode Code, string Reason)? Fault => _monitor.Faulted ? _fault : null;

    /// <summary>Connections counted as open now: held, and their sandbox side not finished sending (for tests).</summary>
    internal int OpenConnections => Volatile.Read(ref _open);

    /// <summary>The proxy's watchdog (for tests).</summary>
    internal RelayMonitor Monitor => _monitor;

    /// <summary>The session's number in its <see cref="ProxyHost"/>; 0 for a proxy started alone.</summary>
    public int SessionId { get; }

    /// <summary>The unix socket the proxy listens on.</summary>
    public string SocketPath { get; }

    /// <summary>Every decision so far, in order.</summary>
    public IReadOnlyList<ConnectionRecord> Records => [.. _records];

    /// <summary>Keeps a record and tells the host of it; a host's failure to listen takes nothing down.</summary>
    private void Record(ConnectionRecord record)
    {
        _records.Enqueue(record);
        try
        {
            _onConnection?.Invoke(record);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The record is kept; the host's handler is its own business.
            _ = ex;
        }
    }

    /// <summary>Whether the bridge said it listens (see <see cref="Bridge.ReadyMessage"/>); the command starts only after.</summary>
    public bool BridgeReady => _bridgeReady;

    /// <summary>The first reason given on the proxy's socket for the bridge failing, or <see langword="null"/>.</summary>
    public string? BridgeFailure => Volatile.Read(ref _bridgeFailure);

    /// <summary>How many connections were refused because <see cref="ProxyLimits.MaxConnections"/> were open (SBX6007 is recorded once per burst).</summary>
    public long RefusedOverLimit => Interlocked.Read(ref _refusedOverLimit);

    /// <summary>Starts the proxy on <paramref name="socketPath"/>.</summary>
    /// <param name="policy">Which hosts are allowed.</param>
    /// <param name="socketPath">Where to listen; its directory should be private to the caller.</param>
    /// <param name="guard">Which resolved addresses are refused.</param>
    /// <param name="prompt">Asks about undecided hosts; <see langword="null"/> denies them.</param>
    /// <param name="onBlocked">Told about refusals as they happen, as coded warnings: a refused destination once (SBX6013, with its remedy as data), a malformed head (SBX6006, a bounded number), a burst over the connection bound (SBX6007), a head timeout (SBX6008, once), a connection lost to the proxy's own error (SBX6014).</param>
    /// <param name="onAlways">Told when the user allows a host for good.</param>
    /// <param name="limits">Bounds on connections and time; <see cref="ProxyLimits.Default"/> when <see langword="null"/>.</param>
    /// <param name="wording">How the host names a widening, in refusals the command and <paramref name="onBlocked"/> see; <see cref="RemedyWording.Neutral"/> when <see langword="null"/>.</param>
    /// <param name="onConnection">Told of every record as it is made (see <see cref="Records"/>), on the connection's thread: a refusal at once, an allowed connection when it ends.</param>
    public static EgressProxy Start(NetworkPolicy policy, string socketPath, AddressGuard guard, IHostPrompt? prompt = null, Action<Diagnostic>? onBlocked = null, Action<HostRule>? onAlways = null, ProxyLimits? limits = null, IRemedyWording? wording = null, Action<ConnectionRecord>? onConnection = null) =>
        new(policy, socketPath, guard, prompt, onBlocked, onAlways, limits ?? ProxyLimits.Default, ProxyFaultInjection.FromEnvironment(), wording, onConnection);

    /// <summary>Opens a session of <paramref name="host"/> (see <see cref="ProxyHost.Open"/>).</summary>
    internal static EgressProxy Open(ProxyHost host, int sessionId, NetworkPolicy policy, string socketPath, IHostPrompt? prompt, Action<Diagnostic>? onBlocked, Action<HostRule>? onAlways, ProxyLimits limits, IRemedyWording? wording, Action<ConnectionRecord> onConnection) =>
        new(policy, socketPath, host.Guard, prompt, onBlocked, onAlways, limits, ProxyFaultInjection.FromEnvironment(), wording, onConnection, host, sessionId);

    /// <summary>Starts the proxy with a simulated fault (tests).</summary>
    internal static EgressProxy StartWithFault(NetworkPolicy policy, string socketPath, AddressGuard guard, ProxyFaultInjection? injection, ProxyLimits? limits = null, Action<Diagnostic>? onBlocked = null) =>
        new(policy, socketPath, guard, null, onBlocked, null, limits ?? ProxyLimits.Default, injection);

    /// <summary>Stops accepting and waits (briefly) for open connections to finish.</summary>
    public async ValueTask DisposeAsync()
    {
        _disposing = true;

        // The watchdog first: it also lets go of anything a simulated fault holds.
        _monitor.Dispose();
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAny(Task.WhenAll(_connections.Keys), Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        if (_host is null)
        {
            _promptLock.Dispose();
        }
        else
        {
            _host.Closed(this);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                await _monitor.BeforeAccept().ConfigureAwait(false);
                client = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionAborted && !_disposing)
            {
                // The client went away before it was taken: nothing wrong with the proxy.
                continue;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                if (!_disposing)
                {
                    // Not stopped by its owner: the run goes on without a proxy. Everything is closed
                    // at once (clients see it) rather than left waiting in the socket's queue.
                    _monitor.Fail(Errors.Errors.ProxyFailed, "its socket stopped accepting connections: " + ex.Message);
                }

                return;
            }

            _monitor.Accepted();
            var open = Interlocked.Increment(ref _open);
            if (Interlocked.Increment(ref _active) > 2 * _limits.MaxConnections || open > _limits.MaxConnections)
            {
                Interlocked.Decrement(ref _active);
                Interlocked.Decrement(ref _open);
                if (Interlocked.Exchange(ref _overloaded, 1) == 0)
                {
                    SayOverLimit(_limits.MaxConnections, $"{_limits.MaxConnections} connections were open (or {2 * _limits.MaxConnections} counting those closing), the most the proxy serves at once; it refuses more until half of them have closed");
                }

                RefuseOverLimit(client);
                continue;
            }

            // The host's bound, across all its sessions, after this session's own; said once per
            // burst of the host, in the session that met it.
            if (_host is not null && !_host.TryHold(out var firstOfBurst))
            {
                Interlocked.Decrement(ref _active);
                Interlocked.Decrement(ref _open);
                if (firstOfBurst)
                {
                    SayOverLimit(_host.MaxConnections, $"{_host.MaxConnections} connections were held across all the sandboxes this proxy host serves, the most it holds at once; it refuses more until half of them have closed");
                }

                RefuseOverLimit(client);
                continue;
            }

            var slot = new Slot(this);
            var task = Task.Run(() => ServeGuardedAsync(client, slot));
            _connections.TryAdd(task, 0);
            _ = task.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    /// <summary>One connection's place in the counts: open until its sandbox side has finished sending.</summary>
    private sealed class Slot(EgressProxy proxy)
    {
        private int _open = 1;

        /// <summary>The sandbox side has finished sending; called again (at the end) it does nothing.</summary>
        public void SandboxSideDone()
        {
            if (Interlocked.Exchange(ref _open, 0) == 1)
            {
                Interlocked.Decrement(ref proxy._open);
            }
        }
    }

    private async Task ServeGuardedAsync(Socket connection, Slot slot)
    {
        // The head timeout runs from the connection's arrival: waiting for the bridge's message and
        // for the request head together.
        var deadline = Environment.TickCount64 + (long)_limits.HeadTimeout.TotalMilliseconds;
        Socket? passed = null;
        try
        {
            if (!_monitor.Hold(connection))
            {
                return;
            }

            // The bridge hands over the command's own connection; a client inside the sandbox may
            // also speak HTTP on the unix socket directly.
            try
            {
                using var timeout = new CancellationTokenSource(_limits.HeadTimeout);

                // A zero-byte receive waits for the first message without taking it, and without a thread.
                await connection.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                HeadTimedOut();
                return;
            }

            (passed, var data) = DescriptorPassing.Receive(connection);
            if (passed is null && Bridge.IsControl(data))
            {
                BridgeSaid(connection, data);
                return;
            }

            if (passed is not null)
            {
                _monitor.Release(connection);
                connection.Dispose();
                if (!_monitor.Hold(passed))
                {
                    passed.Dispose();
                    return;
                }
            }

            // From here on the connection has a thread of its own and plain blocking calls (poll(2)
            // for timeouts). A socket that has had an asynchronous operation stays registered with
            // the runtime's epoll for good: every burst of packets of a relayed download then queues
            // work to the thread pool, whose workers spin looking for more. Measured on 1 GiB, that
            // cost about 0.2 s of CPU, more than the splice relay itself, on a machine where curl,
            // the server and the relay already share two cores.
            var client = passed ?? connection;
            if (passed is not null && Bridge.ForwardedPort(data) is { } forwarded)
            {
                await OnOwnThread(() => ServeForwarded(client, forwarded, slot.SandboxSideDone), "proxy-forward").ConfigureAwait(false);
            }
            else
            {
                await OnOwnThread(() => Serve(client, passed is null ? data : default, deadline, slot.SandboxSideDone), "proxy-connection").ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException or InvalidOperationException or ArgumentException)
        {
            // A bug or an unexpected state in one connection must not take the others down; it is recorded.
            Record(new ConnectionRecord("?", 0, false, "proxy error: " + ex.Message, 0, 0));
            _onBlocked?.Invoke(Errors.Errors.ProxyConnectionError.With(ex.GetType().Name + ": " + ex.Message));
        }
        finally
        {
            // Served or not, the connection on the proxy's own socket ends here (disposing twice is harmless).
            _monitor.Release(connection);
            if (passed is not null)
            {
                _monitor.Release(passed);
            }

            connection.Dispose();
            slot.SandboxSideDone();
            _host?.Return();
            if (Interlocked.Decrement(ref _active) <= _limits.MaxConnections && Volatile.Read(ref _open) <= _limits.MaxConnections / 2)
            {
                // The burst is over once half the room is free again; the next one is said again.
                Volatile.Write(ref _overloaded, 0);
            }
        }
    }

    /// <summary>Records and says SBX6007 for a burst of refusals over <paramref name="bound"/>.</summary>
    private void SayOverLimit(int bound, string reason)
    {
        Record(new ConnectionRecord("?", 0, false, reason, 0, 0, Code: Errors.Errors.ProxyConnectionLimit.Code));
        _onBlocked?.Invoke(Errors.Errors.ProxyConnectionLimit.With(bound));
    }

    /// <summary>
    /// A connection beyond <see cref="ProxyLimits.MaxConnections"/> (or its host's bound): answered 503 when its head comes
    /// at once, else closed; SBX6007 is said once per burst (<see cref="SayOverLimit"/>), not per connection. The
    /// answering is bounded too, so that a flood costs only a close per connection.
    /// </summary>
    private void RefuseOverLimit(Socket client)
    {
        Interlocked.Increment(ref _refusedOverLimit);
        if (Interlocked.Increment(ref _overloadAnswers) > MaxOverloadAnswers)
        {
            Interlocked.Decrement(ref _overloadAnswers);
            client.Dispose();
            return;
        }

        _ = Task.Run(async () =>
        {
            Socket? passed = null;
            try
            {
                using var timeout = new CancellationTokenSource(OverloadAnswerTime);
                await client.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                (passed, var data) = DescriptorPassing.Receive(client);
                if ((passed is not null && Bridge.ForwardedPort(data) is not null) || (passed is null && Bridge.IsControl(data)))
                {
                    return;
                }

                // Only the first line matters: whatever the request, the answer is the same.
                var target = passed ?? client;
                var buffer = new byte[512];
                var length = passed is null ? Math.Min(data.Length, buffer.Length) : 0;
                data.AsSpan(0, length).CopyTo(buffer);
                while (buffer.AsSpan(0, length).IndexOf("\r\n"u8) < 0 && length < buffer.Length)
                {
                    var read = await target.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    length += read;
                }

                Respond(target, "503 Service Unavailable", "dotnet-sandbox: " + Errors.Errors.ProxyConnectionLimit.Code + ": too many connections through the egress proxy at once");
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException or InvalidOperationException or ArgumentException)
            {
                // Not answered in time: closed.
            }
            finally
            {
                passed?.Dispose();
                client.Dispose();
                Interlocked.Decrement(ref _overloadAnswers);
            }
        });
    }

    /// <summary>
    /// A message of the bridge: "ready" is recorded, a failure's reason is kept (the first one), and
    /// the answer tells the bridge it is on record. Anything else that starts like one is closed.
    /// </summary>
    private void BridgeSaid(Socket connection, ReadOnlySpan<byte> message)
    {
        if (message.SequenceEqual(Bridge.ReadyMessage))
        {
            _bridgeReady = true;
        }
        else if (Bridge.FailureReason(message) is { } reason)
        {
            // Said on one line: the command can send this too, and must not make it look like more.
            _ = Interlocked.CompareExchange(ref _bridgeFailure, reason.Length == 0 ? "it gave no reason" : TerminalText.EscapeLine(reason), null);
        }
        else
        {
            return;
        }

        try
        {
            connection.Send([Bridge.Acknowledgement], SocketFlags.None);
        }
        catch (SocketException)
        {
            // The sender went away: what it said is on record all the same.
        }
    }

    /// <summary>A connection that sent no complete request head in time: recorded (said once per run) and closed.</summary>
    private void HeadTimedOut()
    {
        var seconds = _limits.HeadTimeout.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);
        var code = Errors.Errors.ProxyHeadTimeout;
        Record(new ConnectionRecord("?", 0, false, $"no complete request head within {seconds} s", 0, 0, Code: code.Code));
        if (_reported.TryAdd(code.Code, 0))
        {
            _onBlocked?.Invoke(code.With(seconds));
        }
    }

    /// <summary>
    /// A head the strict grammar refuses: answered 400 (431 when too long), recorded with SBX6006 and
    /// what was sent (escaped, bounded), and said (a bounded number of lines per run).
    /// </summary>
    private void Malformed(Socket client, string reason, string requestLine, bool tooLong)
    {
        var code = Errors.Errors.ProxyRequestMalformed;
        Record(new ConnectionRecord(requestLine, 0, false, reason, 0, 0, Code: code.Code));
        if (Interlocked.Increment(ref _malformedLines) <= MaxMalformedLines)
        {
            _onBlocked?.Invoke(code.With(reason, requestLine));
        }

        Respond(client, tooLong ? "431 Request Header Fields Too Large" : "400 Bad Request", $"dotnet-sandbox: {code.Code}: the egress proxy refused the request: {reason}");
    }

    /// <summary>Runs <paramref name="work"/> on a new thread; the task ends with it, faulted if it throws.</summary>
    private static Task OnOwnThread(Action work, string name)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try
            {
                work();
                done.SetResult();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        }, 256 * 1024) { IsBackground = true, Name = name }.Start();
        return done.Task;
    }

    /// <summary>
    /// A connection the command made to a loopback port inside the sandbox that the bridge forwards:
    /// to the host's loopback at the same port, when an allow entry names that port for a loopback
    /// host. The bytes are the client's own protocol (a database, a feed), relayed unchanged.
    /// </summary>
    private void ServeForwarded(Socket client, int port, Action sandboxSideDone)
    {
        using var _ = client;
        const string host = "127.0.0.1";
        if (_policy.LoopbackForwards().FirstOrDefault(f => f.Port == port) is not { Rule: { } rule })
        {
            var record = new ConnectionRecord(host, port, false, "no allow entry names this loopback port", 0, 0, Remedy: new HostRemedy($"127.0.0.1:{port}"));
            Record(record);
            _onBlocked?.Invoke(Errors.Errors.ConnectionBlocked.With($"{host}:{port}", record.Reason) with { Remedy = record.Remedy });
            return;
        }

        Socket server;
        try
        {
            server = Dial([IPAddress.Loopback], port);
        }
        catch (SocketException ex)
        {
            Record(new ConnectionRecord(host, port, false, "connection failed: " + ex.Message, 0, 0, Failed: true));
            return;
        }

        long up, down;
        using (server)
        {
            (up, down) = SocketRelay.Relay(client, server, default, _limits.IdleTimeout, _monitor, sandboxSideDone);
        }

        Record(new ConnectionRecord(host, port, true, rule.Reason(_wording) + " (forwarded from the sandbox's loopback)", up, down, Rule: rule));
    }

    /// <summary>Serves one request with blocking calls on the calling thread, which relays the download when allowed.</summary>
    private void Serve(Socket client, ReadOnlyMemory<byte> alreadyRead, long deadline, Action sandboxSideDone)
    {
        using var _ = client;
        var read = ReadHead(client, alreadyRead, deadline);
        switch (read.Outcome)
        {
            case HeadOutcome.Closed:
                return;
            case HeadOutcome.TimedOut:
                HeadTimedOut();
                return;
            case HeadOutcome.TooLong:
                Malformed(client, $"the request head is longer than {HttpRequestHead.MaxLength / 1024} KiB", read.RequestLine, tooLong: true);
                return;
            case HeadOutcome.Truncated:
                Malformed(client, "the connection ended inside the request head", read.RequestLine, tooLong: false);
                return;
        }

        if (!HttpRequestHead.TryParse(read.Head.Span, out var head, out var error))
        {
            Malformed(client, error, read.RequestLine, tooLong: false);
            return;
        }

        var leftover = read.Leftover;

        // The one normalized name the grammar produced: what the policy matches and the resolver gets.
        var host = head!.Host;
        var decision = Decide(host, head.Port, head.IsConnect);
        if (decision.Verdict != Verdict.Allowed)
        {
            Refuse(client, host, head.Port, decision.Reason, decision.Remedy);
            return;
        }

        var (addresses, refusal, unresolved) = Resolve(host, head.Port, decision);
        if (unresolved is not null)
        {
            Record(new ConnectionRecord(host, head.Port, false, unresolved, 0, 0, Failed: true));
            Respond(client, "502 Bad Gateway", "dotnet-sandbox: " + unresolved);
            return;
        }

        if (refusal is { } refused)
        {
            Refuse(client, host, head.Port, refused.Reason, refused.Remedy);
            return;
        }

        Socket server;
        try
        {
            server = Dial(addresses, head.Port);
        }
        catch (SocketException ex)
        {
            Record(new ConnectionRecord(host, head.Port, false, "connection failed: " + ex.Message, 0, 0, Failed: true));
            Respond(client, "502 Bad Gateway", $"dotnet-sandbox: could not connect to {host}:{head.Port}: {ex.Message}");
            return;
        }

        long up, down;
        using (server)
        {
            if (head.IsConnect)
            {
                client.Send("HTTP/1.1 200 Connection established\r\n\r\n"u8, SocketFlags.None);
                (up, down) = SocketRelay.Relay(client, server, leftover.Span, _limits.IdleTimeout, _monitor, sandboxSideDone);
            }
            else
            {
                var request = head.ToOriginRequest();
                var first = new byte[request.Length + leftover.Length];
                request.CopyTo(first, 0);
                leftover.CopyTo(first.AsMemory(request.Length));
                (up, down) = SocketRelay.Relay(client, server, first, _limits.IdleTimeout, _monitor, sandboxSideDone);
            }
        }

        Record(new ConnectionRecord(host, head.Port, true, decision.Reason, up, down, Rule: decision.Rule));
    }

    /// <summary>
    /// Connects to the first of <paramref name="addresses"/> that answers, within <see cref="DialTimeout"/>
    /// in all: a non-blocking connect and poll(2), so that the socket never meets the runtime's epoll.
    /// </summary>
    private static Socket Dial(IPAddress[] addresses, int port)
    {
        var deadline = Environment.TickCount64 + (long)DialTimeout.TotalMilliseconds;
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true, NoDelay = true, Blocking = false };
            try
            {
                try
                {
                    socket.Connect(address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address, port);
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                    var left = deadline - Environment.TickCount64;
                    if (left <= 0 || !socket.Poll(TimeSpan.FromMilliseconds(left), SelectMode.SelectWrite))
                    {
                        throw new SocketException((int)SocketError.TimedOut);
                    }

                    if (socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error) is int error && error != 0)
                    {
                        throw new SocketException(error);
                    }
                }

                socket.Blocking = true;
                return socket;
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
                if (ex.SocketErrorCode == SocketError.TimedOut)
                {
                    break;
                }
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    private Decision Decide(string host, int port, bool tunnel)
    {
        var decision = _policy.Decide(host, port, tunnel, _wording);
        if (decision.Verdict != Verdict.Undecided)
        {
            return decision;
        }

        if (_prompt is null)
        {
            return decision with { Verdict = Verdict.Denied };
        }

        // One question at a time, and each host asked about once per run.
        _promptLock.Wait();
        try
        {
            var answer = _answers.GetOrAdd((host, port), _ => _prompt.Ask(host, port));
            if (answer == PromptAnswer.Always && _answers.TryUpdate((host, port), PromptAnswer.Once, PromptAnswer.Always))
            {
                _onAlways?.Invoke(new HostRule(host, HostRule.DefaultPorts.Contains(port) ? null : port, "allowed always at a prompt", new Origin(OriginKind.Prompt)));
            }

            if (answer == PromptAnswer.Deny)
            {
                return decision with { Verdict = Verdict.Denied, Reason = "refused at the prompt; " + decision.Reason };
            }

            // The user named this very host and port, so a literal address counts as explicitly allowed.
            var reason = answer == PromptAnswer.Always ? "allowed always at the prompt" : "allowed once at the prompt";
            return new Decision(Verdict.Allowed, reason, new HostRule(host, port, reason, new Origin(OriginKind.Prompt)));
        }
        finally
        {
            _promptLock.Release();
        }
    }

    private (IPAddress[] Addresses, (string Reason, HostRemedy Remedy)? Refusal, string? Unresolved) Resolve(string host, int port, Decision decision)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            // A literal address is reached only as typed: a refused kind needs an explicit entry for that very address.
            return _guard.WhyRefused(literal) is { } why && decision.Rule?.IsAddress != true
                ? ([], ($"{host} is {why}, reached only with an allow entry for that very address", new HostRemedy(RuleText(host, port))), null)
                : ([literal], null, null);
        }

        IPAddress[] resolved;
        try
        {
            // The asynchronous look-up is the one with a timeout; this thread has nothing else to do meanwhile.
            using var timeout = new CancellationTokenSource(DialTimeout);
            resolved = Dns.GetHostAddressesAsync(host, timeout.Token).GetAwaiter().GetResult();
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
            : ([], (RebindingRefusal(host, HostRule.Normalize(first), _guard.WhyRefused(first)!, port), new HostRemedy(RuleText(HostRule.Normalize(first).ToString(), port))), null);
    }

    /// <summary>
    /// Why a name that resolves only to refused addresses is refused, and what does work: a name
    /// never leads there, even when its address is allowed; only a request for the address does
    /// (which the remedy, an entry for the address, then allows).
    /// </summary>
    internal static string RebindingRefusal(string host, IPAddress address, string why, int port)
    {
        var target = RuleText(address.ToString(), port);
        return $"{host} resolves to {address} ({why}); a name is never let through to such an address, not even when the address itself is allowed, " +
            $"so that no allowed name can be made to lead there (DNS rebinding); to reach it, request the address itself " +
            $"(http://{target}/ rather than http://{RuleText(host, port)}/)";
    }

    private static string RuleText(string host, int port) => (host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host) + ":" + port;

    private void Refuse(Socket client, string host, int port, string reason, HostRemedy? remedy)
    {
        var record = new ConnectionRecord(host, port, false, reason, 0, 0, Remedy: remedy);
        Record(record);
        var display = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
        var message = $"blocked: {TerminalText.Name(display)} — {record.ReasonWithRemedy(_wording)}";
        if (_reported.TryAdd(display, 0))
        {
            // Once per destination while the command runs; the summary at the end counts them all.
            _onBlocked?.Invoke(Errors.Errors.ConnectionBlocked.With(TerminalText.Name(display), reason) with { Remedy = remedy });
        }

        Respond(client, "403 Forbidden", "dotnet-sandbox: " + message);
    }

    private static void Respond(Socket client, string status, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body + "\n");
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\nX-Sandbox-Blocked: 1\r\n\r\n");
        try
        {
            client.Send(head.Concat(bytes).ToArray(), SocketFlags.None);
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The client went away; nothing to tell it.
        }
    }

    private enum HeadOutcome
    {
        Complete,
        Closed,
        Truncated,
        TimedOut,
        TooLong,
    }

    /// <summary>What reading a head came to: the head (without the blank line), what followed it, and the request line as it may be shown.</summary>
    private readonly record struct HeadRead(HeadOutcome Outcome, ReadOnlyMemory<byte> Head, ReadOnlyMemory<byte> Leftover, string RequestLine);

    /// <summary>Reads up to the blank line that ends the head, by <paramref name="deadline"/> and within <see cref="HttpRequestHead.MaxLength"/>.</summary>
    private static HeadRead ReadHead(Socket client, ReadOnlyMemory<byte> alreadyRead, long deadline)
    {
        // Room for the longest head, its blank line, and a little of what follows.
        var buffer = new byte[HttpRequestHead.MaxLength + 4];
        var length = Math.Min(alreadyRead.Length, buffer.Length);
        alreadyRead.Span[..length].CopyTo(buffer);
        if (FindHead(buffer, length, 0) is { } early)
        {
            return early;
        }

        try
        {
            while (length < buffer.Length)
            {
                // poll(2) for the deadline, then a blocking read of what is there.
                var left = deadline - Environment.TickCount64;
                if (left <= 0 || !client.Poll(TimeSpan.FromMilliseconds(left), SelectMode.SelectRead))
                {
                    return new HeadRead(HeadOutcome.TimedOut, default, default, string.Empty);
                }

                var read = client.Receive(buffer.AsSpan(length), SocketFlags.None);
                if (read == 0)
                {
                    // Ended (or half-closed) inside a head: refused like any head the grammar does not describe.
                    return new HeadRead(length == 0 ? HeadOutcome.Closed : HeadOutcome.Truncated, default, default, length == 0 ? string.Empty : RequestLine(buffer.AsSpan(0, length)));
                }

                var searchFrom = Math.Max(0, length - 3);
                length += read;
                if (FindHead(buffer, length, searchFrom) is { } found)
                {
                    return found;
                }
            }
        }
        catch (SocketException)
        {
            return new HeadRead(HeadOutcome.Closed, default, default, string.Empty);
        }

        return new HeadRead(HeadOutcome.TooLong, default, default, RequestLine(buffer.AsSpan(0, length)));
    }

    private static HeadRead? FindHead(byte[] buffer, int length, int searchFrom)
    {
        var end = buffer.AsSpan(searchFrom, length - searchFrom).IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return null;
        }

        var headLength = searchFrom + end;
        if (headLength > HttpRequestHead.MaxLength)
        {
            return new HeadRead(HeadOutcome.TooLong, default, default, RequestLine(buffer.AsSpan(0, headLength)));
        }

        return new HeadRead(HeadOutcome.Complete, buffer.AsMemory(0, headLength), buffer.AsMemory(headLength + 4, length - headLength - 4), RequestLine(buffer.AsSpan(0, headLength)));
    }

    /// <summary>The first line of what was sent, every byte that is not printable ASCII escaped, bounded: safe to record and print.</summary>
    private static string RequestLine(ReadOnlySpan<byte> head)
    {
        var end = head.IndexOf("\r\n"u8);
        return TerminalText.EscapeBytes(end < 0 ? head : head[..end]);
    }
}
