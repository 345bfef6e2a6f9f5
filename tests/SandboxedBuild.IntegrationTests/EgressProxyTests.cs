using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// The egress proxy for real: the sandbox reaches a server on the host's loopback only through the
/// proxy and only as the allowlist says. Requests go through the proxy explicitly (--noproxy ''),
/// since loopback is otherwise the sandbox's own.
/// </summary>
public sealed class EgressProxyTests
{
    private const string Curl = "curl -sS --max-time 20 --noproxy '' -o /dev/null -w '%{http_code} %{size_download}\\n'";

    [Fact]
    public void A_blocked_host_that_a_preset_has_names_the_preset_and_project_commands_take_it()
    {
        using var ws = new Workspace(Identity.Current);
        var r = Cli.Sh(Identity.Current, ws, "curl -sS --max-time 20 -o /dev/null https://registry.npmjs.org/ 2>/dev/null; echo done");
        Assert.Equal("done\n", r.StandardOutput);
        Assert.Contains("blocked: registry.npmjs.org:443 — not on the allowlist; allow with --allow-host registry.npmjs.org (or --preset npm, which has it)", r.StandardError, StringComparison.Ordinal);

        Assets.CopyInto(ws, "hello");
        var run = Cli.Run(Identity.Current, ws, ["policy", "--step", "run", "--preset", "npm"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("preset 'npm': npm registry", run.StandardOutput, StringComparison.Ordinal);
        var build = Cli.Run(Identity.Current, ws, ["policy", "--step", "build", "--preset", "npm"]);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.DoesNotContain("preset 'npm'", build.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("network: no network", build.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void An_allowed_address_is_reached_over_plain_http_and_through_a_tunnel(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackHttpServer(bodySize: 12);
        var r = Cli.Sh(id, ws, $"{Curl} http://127.0.0.1:{server.Port}/plain; {Curl} -p http://127.0.0.1:{server.Port}/tunnel", null, null,
            "--allow-host", $"127.0.0.1:{server.Port}");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("200 12\n200 12\n", r.StandardOutput);
        Assert.Equal(2, server.Connections);
        Assert.DoesNotContain("blocked", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void An_allowed_loopback_port_is_forwarded_to_the_host_for_clients_that_skip_the_proxy(Identity id)
    {
        // Clients skip the proxy for loopback (NO_PROXY): with 127.0.0.1:PORT allowed, the bridge
        // listens on that port inside and the proxy connects to the host's. Other ports stay the
        // sandbox's own loopback, where nothing listens.
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackHttpServer(bodySize: 12);
        using var other = new LoopbackHttpServer(bodySize: 12);
        var direct = "curl -sS --max-time 20 -o /dev/null -w '%{http_code} %{size_download}\\n'";
        var r = Cli.Sh(id, ws, $"{direct} http://127.0.0.1:{server.Port}/a; {direct} http://localhost:{server.Port}/b; {direct} http://127.0.0.1:{other.Port}/c || echo refused", null, null,
            "--allow-host", $"127.0.0.1:{server.Port}");
        Assert.Equal("200 12\n200 12\n000 0\nrefused\n", r.StandardOutput);
        Assert.Equal(2, server.Connections);
        Assert.Equal(0, other.Connections);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_host_off_the_allowlist_is_refused_with_the_reason_and_the_fix(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackHttpServer();
        var r = Cli.Sh(id, ws, $"{Curl} http://127.0.0.1:{server.Port}/; {Curl} -p http://127.0.0.1:{server.Port}/");
        Assert.StartsWith("403", r.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, server.Connections);
        Assert.Contains($"blocked: 127.0.0.1:{server.Port} — not on the allowlist; allow with --allow-host 127.0.0.1:{server.Port}", r.StandardError, StringComparison.Ordinal);
        Assert.Contains($"blocked: 127.0.0.1:{server.Port} (2×)", r.StandardError, StringComparison.Ordinal); // the run's summary
        Assert.Single(r.StandardError.Split('\n'), l => l.StartsWith("dotnet-sandbox: blocked:", StringComparison.Ordinal)); // said once as it happens
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Ports_deny_list_and_rebinding_are_enforced(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackHttpServer();
        var port = server.Port;

        var noPort = Cli.Sh(id, ws, $"{Curl} -p http://127.0.0.1:{port}/", null, null, "--allow-host", "127.0.0.1");
        Assert.Contains($"port {port} is not allowed for 127.0.0.1", noPort.StandardError, StringComparison.Ordinal);

        var denied = Cli.Sh(id, ws, $"{Curl} -p http://127.0.0.1:{port}/", null, null, "--allow-host", $"127.0.0.1:{port}", "--deny-host", "127.0.0.1");
        Assert.Contains("on the deny-list", denied.StandardError, StringComparison.Ordinal);

        // localhost is allowed by name, but it resolves to loopback: only the literal address may lead there.
        var rebound = Cli.Sh(id, ws, $"{Curl} -p http://localhost:{port}/", null, null, "--allow-host", $"localhost:{port}");
        Assert.Contains("resolves to 127.0.0.1 (loopback)", rebound.StandardError, StringComparison.Ordinal);

        var metadata = Cli.Sh(id, ws, $"{Curl} -p http://169.254.169.254/latest/meta-data/", null, null, "--network", "audit");
        Assert.Contains("169.254.169.254 is cloud metadata", metadata.StandardError, StringComparison.Ordinal);

        Assert.Equal(0, server.Connections);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void The_rebinding_refusal_says_what_actually_works(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackHttpServer(bodySize: 12);
        var port = server.Port;

        // The name stays refused even with its address allowed...
        var refused = Cli.Sh(id, ws, $"{Curl} -p http://localhost:{port}/", null, null, "--allow-host", $"localhost:{port}", "--allow-host", $"127.0.0.1:{port}");
        Assert.Equal(0, server.Connections);
        var hint = System.Text.RegularExpressions.Regex.Match(refused.StandardError,
            $@"request the address itself \((http://\S+/) rather than http://localhost:{port}/\); allow with --allow-host (\S+)");
        Assert.True(hint.Success, refused.ToString());
        Assert.DoesNotContain("local network", refused.StandardError, StringComparison.Ordinal);

        // ...and doing what the refusal says reaches the server.
        var followed = Cli.Sh(id, ws, $"{Curl} -p {hint.Groups[1].Value}", null, null, "--allow-host", hint.Groups[2].Value);
        Assert.True(followed.StandardOutput == "200 12\n", followed.ToString());
        Assert.Equal(1, server.Connections);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Audit_mode_lists_only_the_options_still_needed(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var allowed = new LoopbackHttpServer(bodySize: 12);

        // (Audit mode never opens a loopback address by itself, so here every host reached is
        // allowed by an entry; the unit tests cover the mix.)
        var r = Cli.Sh(id, ws, $"{Curl} -p http://127.0.0.1:{allowed.Port}/", null, null, "--network", "audit", "--allow-host", $"127.0.0.1:{allowed.Port}");
        Assert.True(r.StandardOutput == "200 12\n", r.ToString());
        Assert.Contains("audit: to allow exactly these: nothing to add", r.StandardError, StringComparison.Ordinal);
        Assert.Contains($"already allowed: 127.0.0.1:{allowed.Port} (--allow-host on the command line)", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Extra_descriptors_passed_to_the_proxy_are_not_kept_open(Identity id)
    {
        Cli.SkipIfRedundant(id);
        if (!File.Exists("/usr/bin/python3"))
        {
            Assert.Skip("needs /usr/bin/python3 inside the sandbox to pass descriptors by hand");
        }

        using var ws = new Workspace(id);
        // A hostile command talks to the proxy's socket itself and passes a socket plus the write
        // end of a pipe of its own. Once it closes its copy, the pipe reads end-of-file only if the
        // proxy kept no copy either.
        File.WriteAllText(Path.Combine(ws.Project, "pass.py"), """
            import array, os, select, socket
            proxy = socket.socket(socket.AF_UNIX)
            proxy.connect("/run/dotnet-sandbox/net/proxy.sock")
            a, b = socket.socketpair()
            r, w = os.pipe()
            proxy.sendmsg([b"F"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [a.fileno(), w]))])
            os.close(w)
            a.close()
            ready, _, _ = select.select([r], [], [], 10)
            print("closed" if ready and os.read(r, 1) == b"" else "kept open")
            """);
        ws.FixOwnership();
        var r = Cli.Sh(id, ws, "/usr/bin/python3 pass.py");
        Assert.True(r.StandardOutput == "closed\n", r.ToString());
        Assert.True(r.StandardError.Contains("descriptors where the bridge passes exactly one", StringComparison.Ordinal), r.ToString());
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_half_close_passes_through_the_tunnel(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackCountingServer();

        // socat sends 5 bytes through a CONNECT tunnel, then half-closes; the server answers only
        // once it sees the end of the stream, and the answer must still come back.
        var r = Cli.Sh(id, ws, $"printf hello | socat -t 10 - \"PROXY:127.0.0.1:127.0.0.1:{server.Port},proxyport=${{HTTP_PROXY##*:}}\"", null, null,
            "--allow-host", $"127.0.0.1:{server.Port}");
        Assert.True(r.StandardOutput == "got 5 bytes\n", r.ToString());
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Many_concurrent_tunnels_carry_large_bodies_intact(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        const long Size = 8 * 1024 * 1024;
        using var server = new LoopbackHttpServer(Size);
        var r = Cli.Sh(id, ws,
            $"seq 1 32 | xargs -P 32 -I{{}} curl -sS --max-time 60 --noproxy '' -p -o /dev/null -w '%{{size_download}}\\n' http://127.0.0.1:{server.Port}/{{}}",
            null, null, "--allow-host", $"127.0.0.1:{server.Port}");
        Assert.True(r.ExitCode == 0, r.ToString());
        var sizes = r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(32, sizes.Length);
        Assert.All(sizes, s => Assert.Equal(Size.ToString(System.Globalization.CultureInfo.InvariantCulture), s));
    }

    [Theory]
    [InlineData(Identity.Current, "a")]
    [InlineData(Identity.Unprivileged, "a")]
    [InlineData(Identity.Current, "d")]
    public void At_a_terminal_an_undecided_host_is_asked_about_once(Identity id, string answer)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackHttpServer(bodySize: 12);
        var config = Path.Combine(ws.Root, "config");
        Directory.CreateDirectory(config);
        ws.FixOwnership();

        // On a real pseudo-terminal (script), with the answer typed ahead; two requests, one question.
        var inner = Cli.ShellLine(Cli.CommandLine(id, ["exec", "--", "/bin/sh", "-c", $"{Curl} -p http://127.0.0.1:{server.Port}/; {Curl} -p http://127.0.0.1:{server.Port}/"]));
        var env = ws.Environment(new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = config }).Select(kv => $"{kv.Key}={Cli.Quote(kv.Value)}");
        var r = Cli.ExecAnswering("[d]eny (default), then Enter: ", answer + "\n", "script", "-qec", $"cd {Cli.Quote(ws.Project)} && env -i {string.Join(' ', env)} {inner}", "/dev/null");
        var saved = Path.Combine(config, "dotnet-sandbox", "allowed-hosts");
        Assert.True(System.Text.RegularExpressions.Regex.Count(r.StandardOutput, "wants to reach 127.0.0.1") == 1, r.ToString());
        if (answer == "a")
        {
            Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(r.StandardOutput, "200 12"));
            Assert.Equal(2, server.Connections);
            Assert.StartsWith($"127.0.0.1:{server.Port}", File.ReadAllText(saved), StringComparison.Ordinal);
        }
        else
        {
            Assert.DoesNotContain("200 12", r.StandardOutput, StringComparison.Ordinal);
            Assert.Equal(0, server.Connections);
            Assert.False(File.Exists(saved));
        }
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_host_with_a_nul_is_refused_before_it_is_matched_or_resolved(Identity id)
    {
        // 127.0.0.1\0.example.com matched *.example.com by its raw bytes, and the resolver stopped at
        // the NUL. Now the head is refused (400, SBX6006) and nothing is dialed; the same address
        // asked for properly still goes through.
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackHttpServer(bodySize: 12);
        var port = server.Port;
        var raw = "socat -t 5 - TCP:127.0.0.1:${HTTP_PROXY##*:} | head -n 1 | tr -d '\\r'";
        var r = Cli.Sh(id, ws,
            $"printf 'CONNECT 127.0.0.1\\000.example.com:{port} HTTP/1.1\\r\\n\\r\\n' | {raw}; " +
            $"printf 'GET http://127.0.0.1\\000.example.com:{port}/ HTTP/1.1\\r\\nHost: 127.0.0.1:{port}\\r\\n\\r\\n' | {raw}; " +
            $"{Curl} -p http://127.0.0.1:{port}/legit",
            null, null, "--allow-host", $"*.example.com:{port}", "--allow-host", $"127.0.0.1:{port}");
        Assert.True(r.StandardOutput == "HTTP/1.1 400 Bad Request\nHTTP/1.1 400 Bad Request\n200 12\n", r.ToString());
        Assert.Equal(1, server.Connections);
        Assert.Contains($"warning SBX6006: the egress proxy refused a request: the request line contains a NUL byte; it was: CONNECT 127.0.0.1\\x00.example.com:{port} HTTP/1.1", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("refused: SBX6006 (2×)", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain('\0', r.StandardError);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_plain_http_host_header_that_names_another_host_is_refused(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackHttpServer(bodySize: 12);
        var port = server.Port;
        var r = Cli.Sh(id, ws, $"{Curl} -H 'Host: evil.example' http://127.0.0.1:{port}/a; {Curl} -H 'Host: 127.0.0.1:{port}0' http://127.0.0.1:{port}/b; {Curl} -H 'Host: 127.0.0.1:{port}' http://127.0.0.1:{port}/c",
            null, null, "--allow-host", $"127.0.0.1:{port}");
        var lines = r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 3 && lines[0].StartsWith("400 ", StringComparison.Ordinal) && lines[1].StartsWith("400 ", StringComparison.Ordinal) && lines[2] == "200 12", r.ToString());
        Assert.Equal(1, server.Connections);
        Assert.Contains("the Host header names another host or port than the request target", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Tunnels_to_port_80_of_preset_hosts_are_refused_and_their_plain_requests_are_not(Identity id)
    {
        // Inside a tunnel the command would write its own Host header, which a CDN's shared address
        // routes to whatever site it names; the preset allows the certificate hosts' plain requests only.
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        const string Get = "curl -sS --max-time 20 -o /dev/null";
        var r = Cli.Sh(id, ws,
            $"{Get} -p http://crl3.digicert.com/x.crl; {Get} http://crl3.digicert.com/x.crl; " +
            $"{Get} -p http://www.microsoft.com/pkiops/crl/x.crl; {Get} http://www.microsoft.com/pkiops/crl/x.crl; {Get} https://www.microsoft.com/; true",
            null, null);

        // Each said once as it happened (the summary repeats them indented): the tunnels, and 443 of the
        // host the preset names for port 80 only; not the plain requests, which the policy let through
        // whether or not this machine then reaches the host.
        var blocked = r.StandardError.Split('\n').Where(l => l.StartsWith("dotnet-sandbox: blocked: ", StringComparison.Ordinal)).ToList();
        Assert.True(blocked.Count == 3, r.ToString());
        Assert.StartsWith("dotnet-sandbox: blocked: crl3.digicert.com:80 — a tunnel (CONNECT) to port 80 of crl3.digicert.com needs an entry that names port 80", blocked[0], StringComparison.Ordinal);
        Assert.EndsWith("allow with --allow-host crl3.digicert.com:80", blocked[0], StringComparison.Ordinal);
        Assert.StartsWith("dotnet-sandbox: blocked: www.microsoft.com:80 — a tunnel (CONNECT) to port 80", blocked[1], StringComparison.Ordinal);
        Assert.Equal("dotnet-sandbox: blocked: www.microsoft.com:443 — port 443 is not allowed for www.microsoft.com (its entries name only port 80); allow with --allow-host www.microsoft.com:443", blocked[2].TrimEnd());
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Control_sequences_in_a_requested_name_reach_the_terminal_escaped(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackHttpServer(bodySize: 12);

        // An OSC sequence that would retitle the terminal, a CSI that would clear it, a bidi override.
        var r = Cli.Sh(id, ws,
            "printf 'CONNECT a\\033]0;owned\\007\\033[2J\\342\\200\\256.example:443 HTTP/1.1\\r\\n\\r\\n' | socat -t 5 - TCP:127.0.0.1:${HTTP_PROXY##*:} | head -n 1 | tr -d '\\r'; " +
            $"{Curl} -p http://127.0.0.1:{server.Port}/", null, null, "--network", "audit", "--allow-host", $"127.0.0.1:{server.Port}");
        Assert.True(r.StandardOutput == "HTTP/1.1 400 Bad Request\n200 12\n", r.ToString());
        Assert.Contains("CONNECT a\\x1B]0;owned\\x07\\x1B[2J\\xE2\\x80\\xAE.example:443 HTTP/1.1", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(r.StandardError, c => c is '\x1b' or '\x07' or '\u202e');
        Assert.Equal(1, server.Connections);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Without_network_there_is_no_proxy_at_all(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var server = new LoopbackHttpServer();
        var r = Cli.Sh(id, ws, $"echo \"proxy=$HTTPS_PROXY\"; curl -sS --max-time 5 -x http://127.0.0.1:3128 http://127.0.0.1:{server.Port}/ && echo REACHED; true", null, null, "--no-network");
        Assert.Contains("proxy=\n", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("REACHED", r.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, server.Connections);
    }
}
