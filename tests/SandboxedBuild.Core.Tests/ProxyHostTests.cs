using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net.Sockets;
using System.Text;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;

namespace SandboxedBuild.Core.Tests;

/// <summary>
/// One proxy host, many sessions: each session is known by its own socket and keeps its own
/// records, while the host's bound, its prompt and its subscription span them all.
/// </summary>
public sealed class ProxyHostTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sbx-host-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task The_host_bound_spans_its_sessions_and_the_refusal_is_the_asking_session_s_alone()
    {
        using var target = new CountingListener(hold: true);
        var events = new ConcurrentQueue<ProxyEvent>();
        await using var host = new ProxyHost(new AddressGuard([]), maxConnections: 3, onEvent: events.Enqueue);
        await using var first = host.Open(Allow(target.Port), Path.Combine(_directory, "a.sock"), new NetworkHooks { Name = "first" });
        var blocked = new ConcurrentQueue<Diagnostic>();
        await using var second = host.Open(Allow(target.Port), Path.Combine(_directory, "b.sock"), new NetworkHooks { Name = "second", OnBlocked = blocked.Enqueue });
        var held = new List<Socket>();
        try
        {
            // Each session alone could hold 256; together they hold the host's three.
            Assert.StartsWith("HTTP/1.1 200", Tunnel(first, target.Port, held), StringComparison.Ordinal);
            Assert.StartsWith("HTTP/1.1 200", Tunnel(first, target.Port, held), StringComparison.Ordinal);
            Assert.StartsWith("HTTP/1.1 200", Tunnel(second, target.Port, held), StringComparison.Ordinal);
            Assert.StartsWith("HTTP/1.1 503", Tunnel(second, target.Port, held), StringComparison.Ordinal);
            Assert.Equal(3, host.HeldConnections);

            var limit = Assert.Single(second.Records);
            Assert.Equal("SBX6007", limit.Code);
            Assert.Contains("across all the sandboxes this proxy host serves", limit.Reason, StringComparison.Ordinal);
            Assert.Equal("SBX6007", Assert.Single(blocked).Code);
            Assert.Empty(first.Records);
            Assert.Contains(events, e => e.SessionId == second.SessionId && e.SessionName == "second" && e.Record.Code == "SBX6007");

            // Once the first session's tunnels end, the second is served again.
            foreach (var socket in held)
            {
                socket.Dispose();
            }

            held.Clear();
            foreach (var peer in target.Peers)
            {
                peer.Dispose();
            }

            Assert.True(SpinWait.SpinUntil(() => Tunnel(second, target.Port, held).StartsWith("HTTP/1.1 200", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), "the host never gave its places back");
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
    public async Task Sessions_take_turns_at_the_host_s_prompt_and_every_decision_is_told_with_its_session()
    {
        var prompt = new SlowPrompt();
        var events = new ConcurrentQueue<ProxyEvent>();
        await using var host = new ProxyHost(new AddressGuard([]), onEvent: events.Enqueue);
        var sessions = Enumerable.Range(1, 3)
            .Select(i => host.Open(Deny(), Path.Combine(_directory, $"{i}.sock"), new NetworkHooks { Name = $"run-{i}", Prompt = prompt }))
            .ToList();
        try
        {
            // Three sandboxes ask about a host of their own at the same moment.
            var answers = await Task.WhenAll(sessions.Select((s, i) => Task.Run(() => ProxyRequestRefusalTests.Exchange(s, $"GET http://asked-{i + 1}.example/ HTTP/1.1\r\nHost: asked-{i + 1}.example\r\n\r\n"))));

            Assert.All(answers, a => Assert.StartsWith("HTTP/1.1 403", a, StringComparison.Ordinal));
            Assert.Equal(3, prompt.Asked.Count);
            Assert.Equal(1, prompt.MostAtOnce);

            // Each refusal is its own session's, told with that session's number and name.
            for (var i = 1; i <= 3; i++)
            {
                var session = sessions[i - 1];
                Assert.Equal($"asked-{i}.example", Assert.Single(session.Records).Host);
                var told = Assert.Single(events, e => e.SessionId == session.SessionId);
                Assert.Equal(($"run-{i}", $"asked-{i}.example", false), (told.SessionName, told.Record.Host, told.Record.Allowed));
                Assert.Equal($"asked-{i}.example", told.Record.Remedy?.Pattern);
            }

            Assert.Equal([1, 2, 3], sessions.Select(s => s.SessionId).Order());
        }
        finally
        {
            foreach (var session in sessions)
            {
                await session.DisposeAsync();
            }
        }

        Assert.Equal(0, host.OpenSessions);
        Assert.Equal(3, host.SessionsOpened);
    }

    [Fact]
    public async Task Disposing_the_host_closes_its_sessions_and_opens_no_more()
    {
        var host = new ProxyHost(new AddressGuard([]));
        var session = host.Open(Deny(), Path.Combine(_directory, "s.sock"));
        Assert.StartsWith("HTTP/1.1 403", ProxyRequestRefusalTests.Exchange(session, "GET http://x.example/ HTTP/1.1\r\nHost: x.example\r\n\r\n"), StringComparison.Ordinal);
        Assert.Equal(1, host.OpenSessions);

        await host.DisposeAsync();

        Assert.Equal(0, host.OpenSessions);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Assert.Throws<SocketException>(() => socket.Connect(new UnixDomainSocketEndPoint(session.SocketPath)));
        Assert.Throws<ObjectDisposedException>(() => host.Open(Deny(), Path.Combine(_directory, "t.sock")));

        // Its owner disposing the session after the host is harmless.
        await session.DisposeAsync();
    }

    private static NetworkPolicy Allow(int port) =>
        new(NetworkMode.Filtered, [HostRule.Parse($"127.0.0.1:{port}", "--allow-host", "test")], ImmutableArray<HostRule>.Empty, "test");

    private static NetworkPolicy Deny() => new(NetworkMode.Filtered, [], ImmutableArray<HostRule>.Empty, "test");

    /// <summary>Opens a tunnel through <paramref name="session"/>; keeps the socket in <paramref name="held"/> when it was established.</summary>
    private static string Tunnel(EgressProxy session, int port, List<Socket> held)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 15_000 };
        socket.Connect(new UnixDomainSocketEndPoint(session.SocketPath));
        socket.Send(Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n"));
        var buffer = new byte[256];
        var status = Encoding.ASCII.GetString(buffer, 0, socket.Receive(buffer));
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

    /// <summary>Denies every host after a pause, counting how many questions were open at once.</summary>
    private sealed class SlowPrompt : IHostPrompt
    {
        private int _now;
        private int _most;

        public ConcurrentQueue<string> Asked { get; } = new();

        public int MostAtOnce => Volatile.Read(ref _most);

        public PromptAnswer Ask(string host, int port)
        {
            var now = Interlocked.Increment(ref _now);
            int most;
            while (now > (most = Volatile.Read(ref _most)) && Interlocked.CompareExchange(ref _most, now, most) != most)
            {
            }

            Asked.Enqueue(host);
            Thread.Sleep(200);
            Interlocked.Decrement(ref _now);
            return PromptAnswer.Deny;
        }
    }
}
