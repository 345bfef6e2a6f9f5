using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SandboxedBuild.Errors;
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

    private static NetworkPolicy AllowLoopback(int port) =>
        new(NetworkMode.Filtered, [HostRule.Parse($"127.0.0.1:{port}", "--allow-host", "test")], ImmutableArray<HostRule>.Empty, "test");

    private static Socket Connect(EgressProxy proxy)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 15_000 };
        socket.Connect(new UnixDomainSocketEndPoint(proxy.SocketPath));
        return socket;
    }

    /// <summary>Reads until the proxy closes (or the read times out); what came, and whether it was closed.</summary>
    private static (string Text, bool Closed) ReadToClose(Socket socket)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = socket.Receive(buffer)) > 0)
            {
                text.Append(Encoding.Latin1.GetString(buffer, 0, read));
            }

            return (text.ToString(), true);
        }
        catch (SocketException)
        {
            return (text.ToString(), false);
        }
    }

    [Fact]
    public async Task A_tunnel_whose_sandbox_side_finished_sending_frees_its_place_and_closing_ones_are_bounded_too()
    {
        // A server that never ends its side: the tunnels wait on it after the client is done.
        using var target = new CountingListener(hold: true);
        var limits = new ProxyLimits { MaxConnections = 4, HeadTimeout = TimeSpan.FromSeconds(30) };
        await using var proxy = EgressProxy.Start(AllowLoopback(target.Port), Path.Combine(_directory, "proxy.sock"), new AddressGuard([]), limits: limits);
        var connect = Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{target.Port} HTTP/1.1\r\n\r\n");
        var held = new List<Socket>();
        string Open()
        {
            var socket = Connect(proxy);
            socket.Send(connect);
            var buffer = new byte[256];
            var read = socket.Receive(buffer);
            var status = Encoding.ASCII.GetString(buffer, 0, read);
            if (status.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
            {
                held.Add(socket);
            }
            else
            {
                socket.Dispose();
            }

            return status;
        }

        void HalfCloseAll()
        {
            foreach (var socket in held)
            {
                socket.Shutdown(SocketShutdown.Send);
            }
        }

        try
        {
            // Four tunnels, as a client closes them when done: every place is taken, then freed.
            for (var i = 0; i < 4; i++)
            {
                Assert.StartsWith("HTTP/1.1 200", Open(), StringComparison.Ordinal);
            }

            Assert.StartsWith("HTTP/1.1 503", Open(), StringComparison.Ordinal);
            HalfCloseAll();

            // Closing, not open: four more are served (the proxy notices each end a moment later).
            for (var i = 0; i < 4; i++)
            {
                Assert.True(SpinWait.SpinUntil(() => Open().StartsWith("HTTP/1.1 200", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), $"tunnel {i + 5} was refused after the first four were done sending");
            }

            // Four open and four closing: the open bound refuses the next...
            Assert.StartsWith("HTTP/1.1 503", Open(), StringComparison.Ordinal);

            // ...and with eight closing, twice the bound, so does the total one: half-closing holds no more.
            HalfCloseAll();
            await Task.Delay(300, TestContext.Current.CancellationToken);
            Assert.StartsWith("HTTP/1.1 503", Open(), StringComparison.Ordinal);
            Assert.Equal(8, target.Accepted);

            // Once the tunnels have ended, a connection is served again.
            foreach (var socket in held)
            {
                socket.Dispose();
            }

            held.Clear();
            foreach (var peer in target.Peers)
            {
                peer.Dispose();
            }

            Assert.True(SpinWait.SpinUntil(() => Open().StartsWith("HTTP/1.1 200", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), "no tunnel was served after the others ended");
        }
        finally
        {
            foreach (var socket in held)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task Every_decision_reaches_the_host_as_a_record_with_its_remedy_and_refusals_use_the_hosts_words()
    {
        using var target = new CountingListener();
        var seen = new ConcurrentQueue<ConnectionRecord>();
        var said = new ConcurrentQueue<Diagnostic>();
        var proxy = EgressProxy.Start(AllowLoopback(target.Port), Path.Combine(_directory, "proxy.sock"), new AddressGuard([]), onBlocked: said.Enqueue, wording: TestWordings.Item, onConnection: seen.Enqueue);
        try
        {
            // Refused: told at once, with the widening as data; the command and the host read it in the host's words.
            using (var refused = Connect(proxy))
            {
                refused.Send(Encoding.ASCII.GetBytes("CONNECT blocked.example:443 HTTP/1.1\r\n\r\n"));
                var (latin1, closed) = ReadToClose(refused);
                var text = Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(latin1));
                Assert.True(closed);
                Assert.StartsWith("HTTP/1.1 403", text, StringComparison.Ordinal);
                Assert.Contains("blocked: blocked.example:443 — not on the allowlist; allow with <SandboxAllowedHost Include=\"blocked.example\" />", text, StringComparison.Ordinal);
            }

            var record = Assert.Single(seen);
            Assert.Equal(("blocked.example", 443, false, "not on the allowlist", new HostRemedy("blocked.example")), (record.Host, record.Port, record.Allowed, record.Reason, record.Remedy));
            // Said as a coded warning whose remedy is data, worded by the host.
            var refusal = Assert.Single(said);
            Assert.Equal(("SBX6013", Severity.Warning, new HostRemedy("blocked.example")), (refusal.Code, refusal.Severity, refusal.Remedy));
            Assert.Equal("blocked: blocked.example:443 — not on the allowlist", refusal.Message);
            Assert.Equal("blocked: blocked.example:443 — not on the allowlist; allow with <SandboxAllowedHost Include=\"blocked.example\" />", TestWordings.Item.MessageWithRemedy(refusal));

            // Allowed: told when the tunnel ends, with its bytes and the rule that let it through.
            using (var allowed = Connect(proxy))
            {
                allowed.Send(Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{target.Port} HTTP/1.1\r\n\r\n"));
                var buffer = new byte[64];
                Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(buffer, 0, allowed.Receive(buffer)), StringComparison.Ordinal);
            }

            Assert.True(SpinWait.SpinUntil(() => seen.Count == 2, TimeSpan.FromSeconds(10)), $"{seen.Count} records told");
            var through = seen.Last();
            Assert.True(through.Allowed);
            Assert.Null(through.Remedy);
            Assert.NotNull(through.Rule);
            Assert.Equal(proxy.Records, seen);
        }
        finally
        {
            await proxy.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_tunnel_to_port_80_is_refused_where_only_plain_HTTP_requests_are_allowed()
    {
        // Inside a tunnel the command writes its own Host header, which a CDN's shared address would route
        // to any site it serves; an http:// request's Host is held to the host the policy allowed.
        var policy = new NetworkPolicy(NetworkMode.Filtered, [HostRule.Parse("crl.invalid", "--allow-host", "test")], ImmutableArray<HostRule>.Empty, "test");
        var seen = new ConcurrentQueue<ConnectionRecord>();
        var proxy = EgressProxy.Start(policy, Path.Combine(_directory, "proxy.sock"), new AddressGuard([]), onConnection: seen.Enqueue);
        try
        {
            using (var tunnel = Connect(proxy))
            {
                tunnel.Send("CONNECT crl.invalid:80 HTTP/1.1\r\nHost: crl.invalid:80\r\n\r\n"u8.ToArray());
                var (text, closed) = ReadToClose(tunnel);
                Assert.True(closed);
                Assert.StartsWith("HTTP/1.1 403", text, StringComparison.Ordinal);
                Assert.Contains("tunnel (CONNECT) to port 80", text, StringComparison.Ordinal);
            }

            var refused = Assert.Single(seen);
            Assert.Equal(("crl.invalid", 80, false, new HostRemedy("crl.invalid:80")), (refused.Host, refused.Port, refused.Allowed, refused.Remedy));

            // The plain request to the same host and port is let through the policy (and then fails to
            // resolve: the name is not real), so its record is a failure, not a refusal.
            using (var plain = Connect(proxy))
            {
                plain.Send("GET http://crl.invalid/pki/root.crl HTTP/1.1\r\nHost: crl.invalid\r\n\r\n"u8.ToArray());
                var (text, _) = ReadToClose(plain);
                Assert.DoesNotContain("HTTP/1.1 403", text, StringComparison.Ordinal);
            }

            Assert.True(SpinWait.SpinUntil(() => seen.Count == 2, TimeSpan.FromSeconds(15)), $"{seen.Count} records");
            var second = seen.Last();
            Assert.Equal(("crl.invalid", 80, true), (second.Host, second.Port, second.Failed));
        }
        finally
        {
            await proxy.DisposeAsync();
        }
    }

    [Fact]
    public async Task Connections_over_the_bound_are_refused_and_said_once_per_burst()
    {
        using var target = new CountingListener();
        var messages = new ConcurrentQueue<string>();
        var limits = new ProxyLimits { MaxConnections = 4, HeadTimeout = TimeSpan.FromSeconds(30) };
        var proxy = EgressProxy.Start(AllowLoopback(target.Port), Path.Combine(_directory, "proxy.sock"), new AddressGuard([]), onBlocked: d => messages.Enqueue(d.ToString()), limits: limits);
        var idle = new List<Socket>();
        try
        {
            // Four connections that say nothing hold every place.
            for (var i = 0; i < 4; i++)
            {
                idle.Add(Connect(proxy));
            }

            var connect = Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{target.Port} HTTP/1.1\r\n\r\n");
            for (var i = 0; i < 3; i++)
            {
                using var over = Connect(proxy);
                over.Send(connect);
                var (text, closed) = ReadToClose(over);
                Assert.True(closed, "an over-limit connection was left open");
                Assert.StartsWith("HTTP/1.1 503", text, StringComparison.Ordinal);
            }

            // One that shows no head at once is just closed.
            using (var mute = Connect(proxy))
            {
                var (text, closed) = ReadToClose(mute);
                Assert.True(closed && text.Length == 0, $"a mute over-limit connection got '{text}'");
            }

            Assert.Equal(0, target.Accepted);
            Assert.Equal(4, proxy.RefusedOverLimit);
            Assert.Single(proxy.Records, r => r.Code == "SBX6007");
            Assert.StartsWith("warning SBX6007: ", Assert.Single(messages), StringComparison.Ordinal);

            // Once they close, a connection is served again...
            foreach (var socket in idle)
            {
                socket.Dispose();
            }

            idle.Clear();
            var served = false;
            for (var attempt = 0; attempt < 50 && !served; attempt++)
            {
                using var again = Connect(proxy);
                again.Send(connect);
                var buffer = new byte[64];
                var read = again.Receive(buffer);
                served = Encoding.ASCII.GetString(buffer, 0, read).StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
                if (!served)
                {
                    await Task.Delay(100, TestContext.Current.CancellationToken);
                }
            }

            Assert.True(served, "no connection was served after the idle ones closed");
            Assert.True(SpinWait.SpinUntil(() => target.Accepted == 1, TimeSpan.FromSeconds(5)));

            // ...and the next burst is said again. The served tunnel must have left the count first:
            // on a busy machine its end could come after the first idle ones of the burst, one of
            // those was refused instead, and every later attempt was served (a flake seen once).
            Assert.True(SpinWait.SpinUntil(() => proxy.OpenConnections == 0, TimeSpan.FromSeconds(10)), $"{proxy.OpenConnections} still counted open");
            for (var i = 0; i < 4; i++)
            {
                idle.Add(Connect(proxy));
            }

            // Accepted in order: the four are counted before the fifth.
            using (var over = Connect(proxy))
            {
                over.Send(connect);
                var (text, closed) = ReadToClose(over);
                Assert.True(closed && text.StartsWith("HTTP/1.1 503", StringComparison.Ordinal), $"the fifth connection got '{text}'");
            }

            Assert.Equal(4, proxy.OpenConnections);
            Assert.Equal(2, proxy.Records.Count(r => r.Code == "SBX6007"));
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }

            await proxy.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_connection_without_a_complete_head_in_time_is_closed()
    {
        using var target = new CountingListener();
        var messages = new ConcurrentQueue<string>();
        var limits = new ProxyLimits { HeadTimeout = TimeSpan.FromSeconds(1) };
        await using var proxy = EgressProxy.Start(AllowLoopback(target.Port), Path.Combine(_directory, "proxy.sock"), new AddressGuard([]), onBlocked: d => messages.Enqueue(d.ToString()), limits: limits);

        // Half a head, then nothing; and nothing at all.
        using var partial = Connect(proxy);
        partial.Send(Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{target.Port} HTTP/1.1\r\n"));
        using var silent = Connect(proxy);
        var started = Environment.TickCount64;
        Assert.True(ReadToClose(partial).Closed);
        Assert.True(ReadToClose(silent).Closed);
        Assert.InRange(Environment.TickCount64 - started, 500, 5000);
        Assert.Equal(2, proxy.Records.Count(r => r.Code == "SBX6008"));
        Assert.StartsWith("warning SBX6008: ", Assert.Single(messages), StringComparison.Ordinal); // said once
        Assert.Equal(0, target.Accepted);

        // A head that takes a moment but arrives in time is served.
        using var slow = Connect(proxy);
        slow.Send(Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{target.Port} HTTP/1.1\r\n"));
        await Task.Delay(300, TestContext.Current.CancellationToken);
        slow.Send("\r\n"u8.ToArray());
        var buffer = new byte[64];
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(buffer, 0, slow.Receive(buffer)), StringComparison.Ordinal);
        Assert.True(SpinWait.SpinUntil(() => target.Accepted == 1, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_silent_tunnel_is_closed_and_one_that_moves_bytes_either_way_is_not()
    {
        using var origin = new CountingListener(hold: true);
        var limits = new ProxyLimits { IdleTimeout = TimeSpan.FromSeconds(1) };
        await using var proxy = EgressProxy.Start(AllowLoopback(origin.Port), Path.Combine(_directory, "proxy.sock"), new AddressGuard([]), limits: limits);
        var connect = Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{origin.Port} HTTP/1.1\r\n\r\n");
        var established = "HTTP/1.1 200 Connection established\r\n\r\n";

        // Silent both ways: closed after about the timeout (at most one and a half).
        using (var silent = Connect(proxy))
        {
            silent.Send(connect);
            var started = Environment.TickCount64;
            var (text, closed) = ReadToClose(silent);
            Assert.True(closed);
            Assert.Equal(established, text);
            Assert.InRange(Environment.TickCount64 - started, 900, 4000);
        }

        // Bytes only from the origin (a download), then only from the client (an upload), for three
        // times the timeout each: the tunnel stays open, and every byte arrives.
        using var busy = Connect(proxy);
        busy.Send(connect);
        var head = new byte[established.Length];
        for (var got = 0; got < head.Length;)
        {
            got += busy.Receive(head, got, head.Length - got, SocketFlags.None);
        }

        Assert.True(SpinWait.SpinUntil(() => origin.Peers.Count == 2, TimeSpan.FromSeconds(5)));
        Socket server = null!;
        foreach (var p in origin.Peers)
        {
            // The silent tunnel's peer has seen its end; the busy one's has not.
            if (!(p.Poll(0, SelectMode.SelectRead) && p.Available == 0))
            {
                server = p;
            }
        }

        Assert.NotNull(server);
        var one = new byte[1];
        for (var i = 0; i < 10; i++)
        {
            server.Send("d"u8);
            Assert.Equal(1, busy.Receive(one));
            await Task.Delay(300, TestContext.Current.CancellationToken);
        }

        for (var i = 0; i < 10; i++)
        {
            busy.Send("u"u8);
            await Task.Delay(300, TestContext.Current.CancellationToken);
        }

        server.ReceiveTimeout = 5000;
        var uploaded = new byte[16];
        var total = 0;
        while (total < 10)
        {
            total += server.Receive(uploaded, total, uploaded.Length - total, SocketFlags.None);
        }

        Assert.Equal("uuuuuuuuuu", Encoding.ASCII.GetString(uploaded, 0, total));
        server.Send("!"u8);
        Assert.Equal(1, busy.Receive(one));
        Assert.Equal((byte)'!', one[0]);
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
