using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SandboxedBuild.Diagnostics;
using SandboxedBuild.Network;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests;

/// <summary>The strict grammar of request heads and authorities, and the terminal escaping of what the sandbox names.</summary>
public sealed class ProxyGrammarTests
{
    private static HttpRequestHead Accepted(string head)
    {
        Assert.True(HttpRequestHead.TryParse(Encoding.Latin1.GetBytes(head), out var parsed, out var error), $"refused: {error}");
        return parsed!;
    }

    private static string Refused(string head)
    {
        Assert.False(HttpRequestHead.TryParse(Encoding.Latin1.GetBytes(head), out var parsed, out var error), $"accepted as {parsed}");
        Assert.False(string.IsNullOrEmpty(error));
        return error;
    }

    [Theory]
    [InlineData("CONNECT api.nuget.org\0.example.com:443 HTTP/1.1", "NUL")]
    [InlineData("CONNECT api.nuget.org:443\0 HTTP/1.1", "NUL")]
    [InlineData("CONNECT api.nuget.org\r.example.com:443 HTTP/1.1", "bare CR")]
    [InlineData("CONNECT api.nuget.org\n.example.com:443 HTTP/1.1", "bare CR or LF")]
    [InlineData("CONNECT api.nuget.org\t.example.com:443 HTTP/1.1", "control")]
    [InlineData("CONNECT api.nuget.org\x1b.example.com:443 HTTP/1.1", "control")]
    [InlineData("CONNECT api.nuget.org\x7f.example.com:443 HTTP/1.1", "control")]
    [InlineData("CONNECT api.nuget.org .example.com:443 HTTP/1.1", "single spaces")]
    [InlineData("CONNECT  api.nuget.org:443 HTTP/1.1", "single spaces")]
    [InlineData("CONNECT api.nuget.org:443  HTTP/1.1", "single spaces")]
    [InlineData("CONNECT api%2enuget.org:443 HTTP/1.1", "'%'")]
    [InlineData("CONNECT [fe80::1%25eth0]:443 HTTP/1.1", "'%'")]
    [InlineData("CONNECT user@api.nuget.org:443 HTTP/1.1", "'@'")]
    [InlineData("CONNECT api.nuget.org@evil.example:443 HTTP/1.1", "'@'")]
    [InlineData("CONNECT api..nuget.org:443 HTTP/1.1", "empty label")]
    [InlineData("CONNECT .api.nuget.org:443 HTTP/1.1", "empty label")]
    [InlineData("CONNECT api.nuget.org..:443 HTTP/1.1", "empty label")]
    [InlineData("CONNECT .:443 HTTP/1.1", "empty host")]
    [InlineData("CONNECT :443 HTTP/1.1", "empty host")]
    [InlineData("CONNECT -api.nuget.org:443 HTTP/1.1", "hyphen")]
    [InlineData("CONNECT api-.nuget.org:443 HTTP/1.1", "hyphen")]
    [InlineData("CONNECT api_x.nuget.org:443 HTTP/1.1", "not a letter")]
    [InlineData("CONNECT api.nuget.org:0 HTTP/1.1", "port")]
    [InlineData("CONNECT api.nuget.org:65536 HTTP/1.1", "port")]
    [InlineData("CONNECT api.nuget.org:+443 HTTP/1.1", "port")]
    [InlineData("CONNECT api.nuget.org:0x1bb HTTP/1.1", "port")]
    [InlineData("CONNECT api.nuget.org:0443 HTTP/1.1", "port")]
    [InlineData("CONNECT api.nuget.org:4430000000 HTTP/1.1", "port")]
    [InlineData("CONNECT api.nuget.org: HTTP/1.1", "port")]
    [InlineData("CONNECT api.nuget.org HTTP/1.1", "no port")]
    [InlineData("CONNECT 0x7f.0.0.1:443 HTTP/1.1", "dotted-decimal")]
    [InlineData("CONNECT 2130706433:443 HTTP/1.1", "dotted-decimal")]
    [InlineData("CONNECT 127.1:443 HTTP/1.1", "dotted-decimal")]
    [InlineData("CONNECT 127.000.0.1:443 HTTP/1.1", "dotted-decimal")]
    [InlineData("CONNECT 127.0.0.256:443 HTTP/1.1", "dotted-decimal")]
    [InlineData("CONNECT 0x7f000001:443 HTTP/1.1", "dotted-decimal")]
    [InlineData("CONNECT ::1:443 HTTP/1.1", "brackets")]
    [InlineData("CONNECT [::1:443 HTTP/1.1", "closing bracket")]
    [InlineData("CONNECT [::1]443 HTTP/1.1", "after the IPv6")]
    [InlineData("CONNECT [api.nuget.org]:443 HTTP/1.1", "not an IPv6")]
    [InlineData("CONNECT [127.0.0.1]:443 HTTP/1.1", "not an IPv6")]
    [InlineData("CONNECT api.nuget.org:443 HTTP/2.0", "HTTP/1.x")]
    [InlineData("CONNECT api.nuget.org:443 HTTP/1.1 ", "single spaces")]
    [InlineData("CONNECT api.nuget.org:443", "METHOD TARGET")]
    [InlineData("CON(NECT api.nuget.org:443 HTTP/1.1", "token")]
    [InlineData("GET https://api.nuget.org/ HTTP/1.1\r\nHost: api.nuget.org", "absolute-form http://")]
    [InlineData("GET /v3/index.json HTTP/1.1\r\nHost: api.nuget.org", "absolute-form http://")]
    [InlineData("GET http://api.nuget.org\0.example.com/ HTTP/1.1\r\nHost: api.nuget.org", "NUL")]
    [InlineData("GET http://api.nuget.org%00.example.com/ HTTP/1.1\r\nHost: api.nuget.org", "'%'")]
    [InlineData("GET http://user:pw@api.nuget.org/ HTTP/1.1\r\nHost: api.nuget.org", "'@'")]
    [InlineData("GET http://me@api.nuget.org/ HTTP/1.1\r\nHost: api.nuget.org", "'@'")]
    [InlineData("GET http://api.nuget.org/#x HTTP/1.1\r\nHost: api.nuget.org", "fragment")]
    public void Request_lines_outside_the_grammar_are_refused(string head, string why) =>
        Assert.Contains(why, Refused(head), StringComparison.Ordinal);

    [Fact]
    public void Non_ascii_hosts_are_refused_and_their_a_labels_accepted()
    {
        Assert.False(HttpRequestHead.TryParse(Encoding.UTF8.GetBytes("CONNECT bücher.example:443 HTTP/1.1"), out _, out var error));
        Assert.Contains("not ASCII", error, StringComparison.Ordinal);
        Assert.False(Authority.TryNormalizeName("bücher.example", out _, out error));
        Assert.Contains("non-ASCII", error, StringComparison.Ordinal);
        Assert.Equal("xn--bcher-kva.example", Accepted("CONNECT xn--bcher-kva.example:443 HTTP/1.1").Host);
        Assert.Equal("xn--bcher-kva.example", Accepted("CONNECT XN--BCHER-KVA.Example:443 HTTP/1.1").Host);
    }

    [Theory]
    [InlineData("CONNECT API.NuGet.Org:443 HTTP/1.1", "api.nuget.org", 443)]
    [InlineData("CONNECT api.nuget.org.:443 HTTP/1.1", "api.nuget.org", 443)]
    [InlineData("CONNECT 1e100.net:8443 HTTP/1.0", "1e100.net", 8443)]
    [InlineData("CONNECT localhost:65535 HTTP/1.1", "localhost", 65535)]
    [InlineData("CONNECT 10.0.0.5:1 HTTP/1.1", "10.0.0.5", 1)]
    [InlineData("CONNECT 0.0.0.0:443 HTTP/1.1", "0.0.0.0", 443)]
    [InlineData("CONNECT 127.0.0.1.:443 HTTP/1.1", "127.0.0.1", 443)]
    [InlineData("CONNECT [::1]:8080 HTTP/1.1", "::1", 8080)]
    [InlineData("CONNECT [2001:DB8::1]:443 HTTP/1.1", "2001:db8::1", 443)]
    [InlineData("CONNECT [::ffff:127.0.0.1]:443 HTTP/1.1", "127.0.0.1", 443)]
    [InlineData("CONNECT a.example.com:443 HTTP/1.1\r\nHost: a.example.com:443\r\nUser-Agent: NuGet\t(test)", "a.example.com", 443)]
    public void Hosts_in_the_grammar_are_accepted_and_normalized(string head, string host, int port)
    {
        var parsed = Accepted(head);
        Assert.Equal((host, port), (parsed.Host, parsed.Port));
    }

    [Fact]
    public void Label_and_name_lengths_are_bounded()
    {
        var label63 = new string('a', 63);
        Assert.Equal(label63 + ".example", Accepted($"CONNECT {label63}.example:443 HTTP/1.1").Host);
        Assert.Contains("63", Refused($"CONNECT {label63}a.example:443 HTTP/1.1"), StringComparison.Ordinal);

        // 253 characters in all (a trailing dot not counted), 254 refused.
        var name253 = string.Join('.', Enumerable.Repeat(new string('b', 49), 5)) + ".ccc";
        Assert.Equal(253, name253.Length);
        Assert.Equal(name253, Accepted($"CONNECT {name253}.:443 HTTP/1.1").Host);
        Assert.Contains("253", Refused($"CONNECT d{name253}:443 HTTP/1.1"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET http://Example.COM/index.json HTTP/1.1\r\nHost: example.com:80", "example.com", 80, "/index.json")]
    [InlineData("GET http://example.com:80/ HTTP/1.1\r\nhost:   EXAMPLE.com.  ", "example.com", 80, "/")]
    [InlineData("GET http://example.com:8080?x=1 HTTP/1.1\r\nHost: example.com:8080", "example.com", 8080, "/?x=1")]
    [InlineData("GET http://[::1]:8080 HTTP/1.1\r\nHost: [::1]:8080", "::1", 8080, "/")]
    public void A_plain_http_host_header_that_agrees_is_accepted(string head, string host, int port, string target)
    {
        var parsed = Accepted(head);
        Assert.Equal((host, port, target), (parsed.Host, parsed.Port, parsed.Target));
    }

    [Theory]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: evil.example", "another host")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: example.com:8080", "another host")]
    [InlineData("GET http://example.com:8080/ HTTP/1.1\r\nHost: example.com", "another host")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nHost: example.com", "more than one Host")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nhOST: evil.example", "more than one Host")]
    [InlineData("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nHost: evil.example:443", "more than one Host")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nAccept: */*", "no Host")]
    [InlineData("GET http://example.com/ HTTP/1.0\r\nHost: evil.example", "another host")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: example.com\0.evil", "NUL")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: user@example.com", "'@'")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nX-A: a\0b", "NUL")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nX-A: a\rb", "bare CR or LF")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nX-A: a\x1b[2Jb", "control byte")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n X-A: folded", "folded")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost : example.com", "not a token")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHo\0st: evil.example", "NUL")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nno colon here", "not 'Name: value'")]
    [InlineData("CONNECT example.com:443 HTTP/1.1\r\nX-A: \0", "NUL")]
    public void Header_lines_are_checked_and_the_host_header_must_agree(string head, string why) =>
        Assert.Contains(why, Refused(head), StringComparison.Ordinal);

    [Fact]
    public void An_http_1_0_request_without_host_header_gets_the_decided_one()
    {
        var head = Accepted("GET http://Example.com:8080/a HTTP/1.0\r\nAccept: */*");
        Assert.Equal("GET /a HTTP/1.0\r\nHost: example.com:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n", Encoding.Latin1.GetString(head.ToOriginRequest()));
        Assert.StartsWith("GET / HTTP/1.0\r\nHost: [::1]\r\n", Encoding.Latin1.GetString(Accepted("GET http://[::1]/ HTTP/1.0").ToOriginRequest()), StringComparison.Ordinal);
    }

    [Fact]
    public void The_origin_request_drops_proxy_headers_and_keeps_the_rest()
    {
        var head = Accepted("GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\nProxy-Authorization: x\r\nConnection: keep-alive\r\nAccept: */*");
        Assert.Equal("GET /a?b HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nConnection: close\r\n\r\n", Encoding.Latin1.GetString(head.ToOriginRequest()));
    }

    [Theory]
    [InlineData("plain.example", "plain.example")]
    [InlineData("bücher.example", "bücher.example")]
    [InlineData("a\0b", "a\\x00b")]
    [InlineData("a\x1b[31mred", "a\\x1B[31mred")]
    [InlineData("a\r\nb", "a\\x0D\\x0Ab")]
    [InlineData("a\u007Fb", "a\\x7Fb")]
    [InlineData("a\u009b31mb", "a\\x9B31mb")]
    [InlineData("evil\u202Egro.tegun", "evil\\u{202E}gro.tegun")]
    [InlineData("a\u2066b\u2069", "a\\u{2066}b\\u{2069}")]
    [InlineData("a\u200Db\uFEFF", "a\\u{200D}b\\u{FEFF}")]
    [InlineData("a\u2028b", "a\\u{2028}b")]
    [InlineData("a\\x00b", "a\\x00b")]
    public void Terminal_text_escapes_controls_and_format_characters(string text, string expected)
    {
        Assert.Equal(expected, TerminalText.Name(text));
        Assert.Equal(expected, TerminalText.Name(TerminalText.Name(text))); // escaping twice changes nothing
    }

    [Fact]
    public void Terminal_text_bounds_names_and_keeps_pairs_whole()
    {
        var escaped = TerminalText.Name(new string('x', 300));
        Assert.Equal(new string('x', 255) + "…", escaped);
        Assert.Equal(new string('y', 255), TerminalText.Name(new string('y', 255)));
        Assert.Equal("ok 🙂", TerminalText.Name("ok 🙂"));
        Assert.Equal("a\\u{D800}b", TerminalText.Name("a\uD800b"));
        Assert.Equal("CONNECT a\\x00b\\xC3\\xBC:443", TerminalText.EscapeBytes("CONNECT a\0b"u8.ToArray().Concat("ü:443"u8.ToArray()).ToArray()));
        Assert.Equal(new string('z', 255) + "…", TerminalText.EscapeBytes(Encoding.ASCII.GetBytes(new string('z', 4000))));
    }

    [Fact]
    public void The_summary_escapes_what_the_sandbox_named()
    {
        ConnectionRecord[] records =
        [
            new("evil\u202Eexample\x1b]0;owned\x07", 443, false, "not on the allowlist", 0, 0),
            new("CONNECT a\\x00b:443 HTTP/1.1", 0, false, "a NUL byte in the host", 0, 0, Code: "SBX6006"),
            new("CONNECT c\\x00d:443 HTTP/1.1", 0, false, "a NUL byte in the host", 0, 0, Code: "SBX6006"),
        ];
        var text = NetworkSummary.Format(records, NetworkMode.Filtered);
        Assert.DoesNotContain(text, c => (c < ' ' && c != '\n') || c is '\u202E' or '\x7f');
        Assert.Contains("evil\\u{202E}example\\x1B]0;owned\\x07:443", text, StringComparison.Ordinal);
        Assert.Contains("refused: SBX6006 (2×) — a NUL byte in the host (CONNECT a\\x00b:443 HTTP/1.1)", text, StringComparison.Ordinal);
        Assert.Contains("1 destination(s) blocked, 2 refused before any host was decided", text, StringComparison.Ordinal);
    }
}

/// <summary>
/// The proxy in-process on a unix socket, spoken to directly the way a client inside the sandbox
/// may, with a TCP listener on loopback that counts what reaches it.
/// </summary>
public sealed class ProxyRequestRefusalTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sbx-grammar-").FullName;
    private readonly CountingListener _target = new();

    public void Dispose()
    {
        _target.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static NetworkPolicy Policy(NetworkMode mode, string[] allow, string[] deny) =>
        new(mode, [.. allow.Select(a => HostRule.Parse(a, "--allow-host", "test"))], [.. deny.Select(d => HostRule.Parse(d, "--deny-host", "test"))], "test");

    public static TheoryData<string, string, string, string> Bypasses() => new()
    {
        // mode, allow, deny, the request: {0} is the target's port.
        { "filtered", "*.example.com:{0}", "", "CONNECT 127.0.0.1\0.example.com:{0} HTTP/1.1\r\n\r\n" },
        { "filtered", "*.example.com:{0}", "", "GET http://127.0.0.1\0.example.com:{0}/ HTTP/1.1\r\nHost: 127.0.0.1\0.example.com:{0}\r\n\r\n" },
        { "audit", "", "127.0.0.1", "CONNECT 127.0.0.1\0.anything:{0} HTTP/1.1\r\n\r\n" },
        { "audit", "", "127.0.0.1", "GET http://127.0.0.1\0.anything:{0}/ HTTP/1.1\r\nHost: 127.0.0.1:{0}\r\n\r\n" },
        { "audit", "", "127.0.0.1", "CONNECT 127.0.0.1.:{0} HTTP/1.1\r\n\r\n" },
        { "filtered", "*.example.com:{0}", "", "CONNECT 127.0.0.1%00.example.com:{0} HTTP/1.1\r\n\r\n" },
        { "filtered", "*.example.com:{0}", "", "CONNECT 127.0.0.1\r.example.com:{0} HTTP/1.1\r\n\r\n" },
    };

    [Theory]
    [MemberData(nameof(Bypasses))]
    public async Task A_host_with_a_nul_never_reaches_what_the_resolver_would_read(string mode, string allow, string deny, string request)
    {
        var port = _target.Port;
        var messages = new ConcurrentQueue<string>();
        var policy = Policy(mode == "audit" ? NetworkMode.Audit : NetworkMode.Filtered,
            allow.Length > 0 ? [string.Format(allow, port)] : [], deny.Length > 0 ? [deny] : []);
        await using var proxy = EgressProxy.Start(policy, Path.Combine(_directory, "p.sock"), new AddressGuard([]), onBlocked: d => messages.Enqueue(d.ToString()));

        var answer = Exchange(proxy, string.Format(request, port));
        if (request.Contains("127.0.0.1.:", StringComparison.Ordinal))
        {
            // The trailing dot is the same name: it meets the deny entry for 127.0.0.1.
            Assert.StartsWith("HTTP/1.1 403", answer, StringComparison.Ordinal);
        }
        else
        {
            Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
            Assert.Contains("SBX6006", answer, StringComparison.Ordinal);
            var record = Assert.Single(proxy.Records);
            Assert.Equal("SBX6006", record.Code);
            Assert.DoesNotContain(record.Host, c => c < ' ');
            var line = Assert.Single(messages);
            Assert.StartsWith("warning SBX6006: ", line, StringComparison.Ordinal);
            Assert.Contains("127.0.0.1", line, StringComparison.Ordinal);
            Assert.DoesNotContain(line, c => c < ' ' && c != '\n');
        }

        await Task.Delay(200, TestContext.Current.CancellationToken);
        Assert.Equal(0, _target.Accepted);

        // The legitimate variant through the same proxy: audit mode without the deny entry, or the
        // target allowed by its own address.
        var legitPolicy = Policy(mode == "audit" ? NetworkMode.Audit : NetworkMode.Filtered, [$"127.0.0.1:{port}"], []);
        await using var legit = EgressProxy.Start(legitPolicy, Path.Combine(_directory, "q.sock"), new AddressGuard([]));
        Assert.StartsWith("HTTP/1.1 200 Connection established", Exchange(legit, $"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
        Assert.True(SpinWait.SpinUntil(() => _target.Accepted == 1, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_plain_http_request_whose_host_header_disagrees_is_refused()
    {
        var port = _target.Port;
        var policy = Policy(NetworkMode.Filtered, [$"127.0.0.1:{port}"], []);
        await using var proxy = EgressProxy.Start(policy, Path.Combine(_directory, "p.sock"), new AddressGuard([]));
        Assert.StartsWith("HTTP/1.1 400", Exchange(proxy, $"GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: evil.example\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400", Exchange(proxy, $"GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: 127.0.0.1:{port}\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400", Exchange(proxy, $"GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Evil: a\0b\r\n\r\n"), StringComparison.Ordinal);
        Assert.All(proxy.Records, r => Assert.Equal("SBX6006", r.Code));
        await Task.Delay(200, TestContext.Current.CancellationToken);
        Assert.Equal(0, _target.Accepted);

        // Agreeing: passed on, and the origin sees the origin form.
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            socket.Connect(new UnixDomainSocketEndPoint(proxy.SocketPath));
            socket.Send(Encoding.ASCII.GetBytes($"GET http://127.0.0.1:{port}/x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"));
            Assert.True(SpinWait.SpinUntil(() => _target.FirstLines.Count == 1, TimeSpan.FromSeconds(5)));
        }

        Assert.Equal(1, _target.Accepted);
        Assert.Equal("GET /x HTTP/1.1", Assert.Single(_target.FirstLines));
    }

    [Fact]
    public async Task Escape_sequences_in_a_refused_request_reach_the_terminal_escaped()
    {
        var messages = new ConcurrentQueue<string>();
        await using var proxy = EgressProxy.Start(Policy(NetworkMode.Audit, [], []), Path.Combine(_directory, "p.sock"), new AddressGuard([]), onBlocked: d => messages.Enqueue(d.ToString()));
        Assert.StartsWith("HTTP/1.1 400", Exchange(proxy, "CONNECT a\x1b]0;owned\x07\u009b2J.example:443 HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
        var line = Assert.Single(messages);
        Assert.Contains("CONNECT a\\x1B]0;owned\\x07\\x9B2J.example:443 HTTP/1.1", line, StringComparison.Ordinal);
        Assert.DoesNotContain(line, c => (c < ' ' && c != '\n') || c >= '\x7f' && c != '…' && c != '—');
    }

    [Fact]
    public async Task A_head_over_the_cap_is_refused_and_one_under_it_served()
    {
        var port = _target.Port;
        await using var proxy = EgressProxy.Start(Policy(NetworkMode.Filtered, [$"127.0.0.1:{port}"], []), Path.Combine(_directory, "p.sock"), new AddressGuard([]));
        var big = $"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nX-Pad: {new string('a', 17 * 1024)}\r\n\r\n";
        Assert.StartsWith("HTTP/1.1 431", Exchange(proxy, big), StringComparison.Ordinal);
        Assert.Equal("SBX6006", Assert.Single(proxy.Records).Code);
        Assert.Equal(0, _target.Accepted);
        var fits = $"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nX-Pad: {new string('a', 8 * 1024)}\r\n\r\n";
        Assert.StartsWith("HTTP/1.1 200", Exchange(proxy, fits), StringComparison.Ordinal);
        Assert.True(SpinWait.SpinUntil(() => _target.Accepted == 1, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_head_cut_short_is_refused_and_an_empty_connection_just_closed()
    {
        await using var proxy = EgressProxy.Start(Policy(NetworkMode.Audit, [], []), Path.Combine(_directory, "p.sock"), new AddressGuard([]));
        foreach (var (sent, expected) in new[] { ("CONNECT 127.0.0.1:1 HTTP/1.1\r\n", "HTTP/1.1 400"), (string.Empty, string.Empty) })
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
            socket.Connect(new UnixDomainSocketEndPoint(proxy.SocketPath));
            if (sent.Length > 0)
            {
                socket.Send(Encoding.ASCII.GetBytes(sent));
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }

            socket.Shutdown(SocketShutdown.Send);
            var buffer = new byte[4096];
            var answer = new StringBuilder();
            int read;
            while ((read = socket.Receive(buffer)) > 0)
            {
                answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            Assert.StartsWith(expected, answer.ToString(), StringComparison.Ordinal);
        }

        var record = Assert.Single(proxy.Records);
        Assert.Equal(("SBX6006", "the connection ended inside the request head", "CONNECT 127.0.0.1:1 HTTP/1.1"), (record.Code, record.Reason, record.Host));
    }

    /// <summary>Sends <paramref name="request"/> on the proxy's socket; returns what comes back (until the proxy closes, or a tunnel is established).</summary>
    internal static string Exchange(EgressProxy proxy, string request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
        socket.Connect(new UnixDomainSocketEndPoint(proxy.SocketPath));
        socket.Send(Encoding.Latin1.GetBytes(request));
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = socket.Receive(buffer)) > 0)
            {
                answer.Append(Encoding.Latin1.GetString(buffer, 0, read));
                if (answer.ToString().Contains("200 Connection established\r\n\r\n", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }
        catch (SocketException)
        {
        }

        return answer.ToString();
    }
}

/// <summary>
/// A TCP listener on loopback that counts the connections it accepts and keeps the first line each
/// one sends; it closes a connection after that line or its end, unless told to hold them (then it
/// reads nothing: they are the test's).
/// </summary>
internal sealed class CountingListener : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private int _accepted;

    public CountingListener(bool hold = false)
    {
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                Socket peer;
                try
                {
                    peer = await _listener.AcceptSocketAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }

                Interlocked.Increment(ref _accepted);
                Peers.Add(peer);
                if (hold)
                {
                    // Held connections are the test's to read and write.
                    continue;
                }

                _ = Task.Run(async () =>
                {
                    var buffer = new byte[4096];
                    var text = new StringBuilder();
                    try
                    {
                        int read;
                        while ((read = await peer.ReceiveAsync(buffer)) > 0)
                        {
                            text.Append(Encoding.Latin1.GetString(buffer, 0, read));
                            var end = text.ToString().IndexOf("\r\n", StringComparison.Ordinal);
                            if (end >= 0)
                            {
                                FirstLines.Enqueue(text.ToString()[..end]);
                                break;
                            }
                        }
                    }
                    catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                    {
                    }
                    finally
                    {
                        peer.Dispose();
                    }
                });
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Accepted => Volatile.Read(ref _accepted);

    public ConcurrentQueue<string> FirstLines { get; } = new();

    /// <summary>The accepted connections, open until the listener is disposed (or a test closes them).</summary>
    public ConcurrentBag<Socket> Peers { get; } = [];

    public void Dispose()
    {
        _listener.Stop();
        foreach (var peer in Peers)
        {
            peer.Dispose();
        }
    }
}
