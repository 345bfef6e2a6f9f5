using System.Collections.Immutable;
using System.Net;
using System.Text;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;
using SandboxedBuild.Linux;

namespace SandboxedBuild.Core.Tests;

public sealed class NetworkPolicyTests
{
    private static NetworkPolicy Policy(string[] allow, string[]? deny = null, NetworkMode mode = NetworkMode.Filtered) =>
        new(mode, [.. allow.Select(a => HostRule.Parse(a, "--allow-host", "test"))], [.. (deny ?? []).Select(d => HostRule.Parse(d, "--deny-host", "test"))], "test");

    [Theory]
    [InlineData("api.nuget.org", 443, Verdict.Allowed)]
    [InlineData("API.NuGet.org.", 443, Verdict.Allowed)]
    [InlineData("api.nuget.org", 80, Verdict.Allowed)]
    [InlineData("api.nuget.org", 22, Verdict.Denied)]
    [InlineData("www.nuget.org", 443, Verdict.Undecided)]
    [InlineData("nuget.org", 443, Verdict.Undecided)]
    [InlineData("evilapi.nuget.org", 443, Verdict.Undecided)]
    public void Exact_hosts_match_only_themselves_on_the_default_ports(string host, int port, Verdict expected) =>
        Assert.Equal(expected, Policy(["api.nuget.org"]).Decide(host, port).Verdict);

    [Theory]
    [InlineData("x.blob.core.windows.net", Verdict.Allowed)]
    [InlineData("a.b.blob.core.windows.net", Verdict.Allowed)]
    [InlineData("blob.core.windows.net", Verdict.Undecided)]
    [InlineData("evilblob.core.windows.net", Verdict.Undecided)]
    [InlineData("x.blob.core.windows.net.evil.com", Verdict.Undecided)]
    public void Wildcards_match_subdomains_only(string host, Verdict expected) =>
        Assert.Equal(expected, Policy(["*.blob.core.windows.net"]).Decide(host, 443).Verdict);

    [Fact]
    public void A_loopback_port_below_1024_is_allowed_but_said_not_to_be_forwarded()
    {
        var warnings = new List<Diagnostic>();
        var policy = NetworkPolicyBuilder.Build(new ExecOptions { AllowHosts = ["localhost:80", "localhost:8080"] }, warnings);
        Assert.Equal([8080], policy.LoopbackForwards().Select(f => f.Port));
        var warning = Assert.Single(warnings);
        Assert.StartsWith("warning SBX6005: localhost:80 is allowed, but port 80 cannot be forwarded", warning.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Loopback_ports_named_by_allow_entries_are_forwarded_and_nothing_else()
    {
        var policy = new NetworkPolicy(NetworkMode.Filtered,
            [
                HostRule.Parse("127.0.0.1:5432", "t", "db"), HostRule.Parse("localhost:8080", "t", "web"), HostRule.Parse("[::1]:9000", "t", "v6"),
                HostRule.Parse("127.0.0.1", "t", "no port"), HostRule.Parse("example.com:5433", "t", "remote"), HostRule.Parse("127.0.0.1:3128", "t", "the proxy's own"),
                HostRule.Parse("127.0.0.1:6000", "t", "denied below"),
            ],
            [HostRule.Parse("127.0.0.1:6000", "t", "deny")], "test", ProxyPort: 3128);
        Assert.Equal([5432, 8080, 9000], policy.LoopbackForwards().Select(f => f.Port).Order());
        Assert.Empty(NetworkPolicy.None.LoopbackForwards());
    }

    [Fact]
    public void The_bridge_names_forwards_before_the_command_and_reads_its_own_messages_back()
    {
        Assert.Equal(["__bridge", "3128", "/run/dotnet-sandbox/net/proxy.sock", "--forward", "5432", "--", "dotnet", "test"], Bridge.Arguments(3128, [5432], ["dotnet", "test"]));
        Assert.Equal(5432, Bridge.ForwardedPort("T5432"u8));
        Assert.Null(Bridge.ForwardedPort("F"u8));
        Assert.Null(Bridge.ForwardedPort("T99999"u8));
        Assert.Null(Bridge.ForwardedPort("T-1"u8));
    }

    [Fact]
    public void A_host_a_preset_has_is_refused_with_that_preset_as_the_other_remedy()
    {
        var policy = NetworkPolicyBuilder.Build(new ExecOptions { NetworkMode = NetworkMode.Filtered }, []);
        var npm = policy.Decide("registry.npmjs.org", 443);
        Assert.Equal(Verdict.Undecided, npm.Verdict);
        Assert.Equal(new HostRemedy("registry.npmjs.org", "npm"), npm.Remedy);
        Assert.Equal("allow with the host pattern 'registry.npmjs.org' (or the preset 'npm', which has it)", RemedyWording.Neutral.Sentence(npm.Remedy!));
        Assert.Equal(new HostRemedy("example.com"), policy.Decide("example.com", 443).Remedy);

        // Only for the ports the preset has.
        Assert.Equal(new HostRemedy("registry.npmjs.org:8443"), policy.Decide("registry.npmjs.org", 8443).Remedy);

        // With the default preset left out, its own hosts name it.
        var bare = NetworkPolicyBuilder.Build(new ExecOptions { NetworkMode = NetworkMode.Filtered, NoDefaultPresets = true }, []);
        Assert.Equal(new HostRemedy("api.nuget.org", "nuget"), bare.Decide("api.nuget.org", 443).Remedy);
    }

    [Fact]
    public void A_named_port_is_the_only_port()
    {
        var policy = Policy(["pkgs.example.com:8443"]);
        Assert.Equal(Verdict.Allowed, policy.Decide("pkgs.example.com", 8443).Verdict);
        var other = policy.Decide("pkgs.example.com", 443);
        Assert.Equal(Verdict.Denied, other.Verdict);
        Assert.Equal(new HostRemedy("pkgs.example.com:443"), other.Remedy);
        Assert.Equal("port 443 is not allowed for pkgs.example.com (its entries name only port 8443)", other.Reason);
        Assert.DoesNotContain("--allow-host", other.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tunnel_to_port_80_needs_an_entry_that_names_port_80_while_plain_HTTP_requests_pass()
    {
        // The default preset's certificate hosts serve plain HTTP on port 80.
        var preset = NetworkPolicyBuilder.Build(new ExecOptions { NetworkMode = NetworkMode.Filtered }, []);
        Assert.Equal(Verdict.Allowed, preset.Decide("crl3.digicert.com", 80, tunnel: false).Verdict);
        Assert.Equal(Verdict.Allowed, preset.Decide("crl3.digicert.com", 443, tunnel: true).Verdict);
        var tunnel = preset.Decide("crl3.digicert.com", 80, tunnel: true);
        Assert.Equal(Verdict.Denied, tunnel.Verdict);
        Assert.Equal(new HostRemedy("crl3.digicert.com:80"), tunnel.Remedy);
        Assert.Contains("tunnel (CONNECT) to port 80", tunnel.Reason, StringComparison.Ordinal);

        // The preset's Microsoft certificate host: plain requests to port 80 and nothing else.
        Assert.Equal(Verdict.Allowed, preset.Decide("www.microsoft.com", 80, tunnel: false).Verdict);
        Assert.Equal(Verdict.Denied, preset.Decide("www.microsoft.com", 80, tunnel: true).Verdict);
        Assert.Equal(Verdict.Denied, preset.Decide("www.microsoft.com", 443, tunnel: true).Verdict);

        // Named: the user's choice. A host on no list stays a question, as any other.
        Assert.Equal(Verdict.Allowed, Policy(["legacy.example.com:80"]).Decide("legacy.example.com", 80, tunnel: true).Verdict);
        Assert.Equal(Verdict.Undecided, preset.Decide("elsewhere.example.com", 80, tunnel: true).Verdict);
        Assert.Equal(Verdict.Allowed, Policy([], [], NetworkMode.Audit).Decide("elsewhere.example.com", 80, tunnel: true).Verdict);
    }

    [Fact]
    public void The_deny_list_wins_even_in_audit_mode()
    {
        Assert.Equal(Verdict.Denied, Policy(["*.example.com"], ["secret.example.com"]).Decide("secret.example.com", 443).Verdict);
        Assert.Equal(Verdict.Denied, Policy([], ["secret.example.com"], NetworkMode.Audit).Decide("secret.example.com", 443).Verdict);
        Assert.Equal(Verdict.Allowed, Policy([], ["secret.example.com"], NetworkMode.Audit).Decide("other.example.com", 22).Verdict);
    }

    [Fact]
    public void Undecided_hosts_say_how_to_allow_them()
    {
        var decision = Policy([]).Decide("deb.debian.org", 443);
        Assert.Equal(Verdict.Undecided, decision.Verdict);
        // The remedy is data; the reason says only why, and each host words the remedy its own way.
        Assert.Equal(("not on the allowlist", new HostRemedy("deb.debian.org")), (decision.Reason, decision.Remedy));
        Assert.Equal(new HostRemedy("10.0.0.5:8080"), Policy([]).Decide("10.0.0.5", 8080).Remedy);
        var record = new ConnectionRecord("deb.debian.org", 443, false, decision.Reason, 0, 0, Remedy: decision.Remedy);
        Assert.Equal("not on the allowlist; allow with --allow-host deb.debian.org", record.ReasonWithRemedy(Cli));
        Assert.Equal("not on the allowlist; allow with the host pattern 'deb.debian.org'", record.ReasonWithRemedy(RemedyWording.Neutral));
        Assert.Equal("not on the allowlist; allow with <SandboxAllowedHost Include=\"deb.debian.org\" />", record.ReasonWithRemedy(TestWordings.Item));
        Assert.Null(Policy(["deb.debian.org"]).Decide("deb.debian.org", 443).Remedy);
    }

    [Fact]
    public void No_network_denies_everything()
    {
        Assert.Equal(Verdict.Denied, NetworkPolicy.None.Decide("api.nuget.org", 443).Verdict);
    }

    [Theory]
    [InlineData("api.nuget.org", "api.nuget.org", null)]
    [InlineData("*.Example.COM:8080", "*.example.com", 8080)]
    [InlineData("10.0.0.5", "10.0.0.5", null)]
    [InlineData("[::1]:5000", "::1", 5000)]
    [InlineData("::ffff:127.0.0.1", "127.0.0.1", null)]
    public void Host_patterns_parse(string text, string host, int? port)
    {
        var rule = HostRule.Parse(text, "--allow-host", "r");
        Assert.Equal((host, port), (rule.Host, rule.Port));
    }

    [Theory]
    [InlineData("")]
    [InlineData("exa mple.com")]
    [InlineData("example.com:0")]
    [InlineData("example.com:99999")]
    [InlineData("*.")]
    [InlineData("http://example.com")]
    [InlineData("-bad.example.com")]
    public void Bad_host_patterns_are_refused_with_a_code(string text)
    {
        var ex = Assert.Throws<SandboxException>(() => HostRule.Parse(text, "--allow-host", "r"));
        Assert.Equal("SBX6001", ex.Error.Code);
    }

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.5.6.7", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("169.254.169.254", "cloud metadata")]
    [InlineData("fd00:ec2::254", "cloud metadata")]
    [InlineData("169.254.10.1", "link-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("224.0.0.1", "multicast or reserved")]
    [InlineData("192.0.2.10", "one of this host's own addresses")]
    public void Addresses_that_lead_into_this_machine_are_refused(string address, string why) =>
        Assert.Equal(why, new AddressGuard([IPAddress.Parse("192.0.2.10")]).WhyRefused(IPAddress.Parse(address)));

    [Fact]
    public void The_rebinding_refusal_names_the_request_that_works()
    {
        var text = EgressProxy.RebindingRefusal("db.example.com", IPAddress.IPv6Loopback, "loopback", 5432);
        Assert.Contains("(http://[::1]:5432/ rather than http://db.example.com:5432/)", text, StringComparison.Ordinal);
        Assert.DoesNotContain("--allow-host", text, StringComparison.Ordinal);
        Assert.DoesNotContain("local network", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_printed_policy_names_every_kind_of_refused_address()
    {
        var guard = new AddressGuard([IPAddress.Parse("192.0.2.10")]);
        string[] samples = ["127.0.0.1", "::1", "0.0.0.0", "::", "0.1.2.3", "169.254.10.1", "fe80::1", "fec0::1", "169.254.169.254", "fd00:ec2::254", "224.0.0.1", "240.0.0.1", "ff02::1", "192.0.2.10"];
        var kinds = samples.Select(a => guard.WhyRefused(IPAddress.Parse(a))!).ToHashSet();
        Assert.Equal(AddressGuard.RefusedKinds.Select(k => k.Kind).Order(), kinds.Order());

        var text = PolicyWriter.ToText(TestHosts.Policy());
        var line = text.Split('\n').Single(l => l.Contains("never connected to these addresses", StringComparison.Ordinal));
        Assert.All(kinds, kind => Assert.Contains(kind + " (", line, StringComparison.Ordinal));
    }

    [Fact]
    public void The_printed_policy_lists_the_bridge_mounts_only_with_network()
    {
        var text = PolicyWriter.ToText(TestHosts.Policy());
        Assert.Contains("read       /run/dotnet-sandbox/net ", text, StringComparison.Ordinal);
        Assert.Contains("read       /run/dotnet-sandbox/tool ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("/run/dotnet-sandbox", PolicyWriter.ToText(TestHosts.Policy(new ExecOptions { NetworkMode = NetworkMode.None })), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("203.0.113.80")]
    [InlineData("10.1.2.3")]
    [InlineData("2001:db8::1")]
    public void Ordinary_addresses_pass(string address) =>
        Assert.Null(new AddressGuard([]).WhyRefused(IPAddress.Parse(address)));

    [Fact]
    public void Presets_allow_what_restore_needs_and_not_the_publishing_endpoint()
    {
        var nuget = Presets.Get("nuget")!;
        Assert.Contains(nuget, r => r.Host == "api.nuget.org");
        Assert.DoesNotContain(nuget, r => r.Host is "www.nuget.org" or "*.nuget.org" or "nuget.org" or "*.digicert.com");
        Assert.Null(Presets.Get("no-such-preset"));
    }

    [Fact]
    public void Exec_policy_has_the_nuget_preset_and_proxy_variables_by_default()
    {
        var policy = TestHosts.Policy(new ExecOptions { ProxyPort = 4000 });
        Assert.Equal(NetworkMode.Filtered, policy.Network.Mode);
        Assert.Equal(Verdict.Allowed, policy.Network.Decide("api.nuget.org", 443).Verdict);
        foreach (var name in new[] { "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy" })
        {
            Assert.Equal("http://127.0.0.1:4000", policy.GetEnvironmentValue(name));
        }

        Assert.Contains("127.0.0.1", policy.GetEnvironmentValue("NO_PROXY"), StringComparison.Ordinal);
    }

    [Fact]
    public void No_network_means_no_proxy_and_no_preset()
    {
        var policy = TestHosts.Policy(new ExecOptions { NetworkMode = NetworkMode.None });
        Assert.Equal(NetworkMode.None, policy.Network.Mode);
        Assert.Null(policy.GetEnvironmentValue("HTTPS_PROXY"));
        Assert.DoesNotContain("--json-status-fd", BwrapCommandLine.ToShell(policy, ["true"], FakeFileSystem.Debian()), StringComparison.Ordinal);
        Assert.DoesNotContain("__bridge", BwrapCommandLine.ToShell(policy, ["true"], FakeFileSystem.Debian()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "http://example.com" }, new string[0], new string[0], "SBX6001")]
    [InlineData(new string[0], new[] { "exa mple.com" }, new string[0], "SBX6001")]
    [InlineData(new string[0], new string[0], new[] { "cargo" }, "SBX6002")]
    public void Without_network_host_options_are_still_checked(string[] allow, string[] deny, string[] presets, string code)
    {
        var options = new ExecOptions { NetworkMode = NetworkMode.None, AllowHosts = allow, DenyHosts = deny, Presets = presets };
        Assert.Equal(code, Assert.Throws<SandboxException>(() => TestHosts.Policy(options)).Error.Code);
    }

    [Theory]
    [InlineData("--allow-host")]
    [InlineData("--deny-host")]
    [InlineData("--preset")]
    public void Without_network_a_valid_host_option_is_a_contradiction(string option)
    {
        var options = new ExecOptions { NetworkMode = NetworkMode.None };
        options = option switch
        {
            "--allow-host" => options with { AllowHosts = ["pkgs.example.com"] },
            "--deny-host" => options with { DenyHosts = ["evil.example.com"] },
            _ => options with { Presets = ["npm"] },
        };
        var ex = Assert.Throws<SandboxException>(() => TestHosts.Policy(options with { Wording = TestWordings.Option }));
        Assert.Equal("SBX6015", ex.Error.Code);
        Assert.StartsWith($"SBX6015: {option} cannot be combined with --no-network:", TestWordings.Option.Text(ex.Diagnostic), StringComparison.Ordinal);

        // A host that has said nothing hears the settings' neutral names, and no option.
        var neutral = Assert.Throws<SandboxException>(() => ExecPolicyBuilder.Build(TestHosts.Create(), options, [])).Diagnostic.ToString();
        Assert.Contains($"the setting '{option[2..]}' cannot be combined with the setting 'no-network'", neutral, StringComparison.Ordinal);
        Assert.DoesNotContain("--", neutral, StringComparison.Ordinal);

        // Leaving the default presets out asks for less, which no network already gives.
        Assert.Equal(NetworkMode.None, TestHosts.Policy(new ExecOptions { NetworkMode = NetworkMode.None, NoDefaultPresets = true }).Network.Mode);
    }

    [Fact]
    public void Unknown_preset_and_audit_mode_are_coded()
    {
        var ex = Assert.Throws<SandboxException>(() => TestHosts.Policy(new ExecOptions { Presets = ["cargo"] }));
        Assert.Equal("SBX6002", ex.Error.Code);
        var warnings = new List<Diagnostic>();
        _ = TestHosts.Policy(new ExecOptions { NetworkMode = NetworkMode.Audit }, warnings: warnings);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX6004", StringComparison.Ordinal));
    }

    [Fact]
    public void Networked_argument_vector_starts_the_bridge_before_the_command()
    {
        var args = BwrapCommandLineTestsAccess.Build(TestHosts.Policy(new ExecOptions { ProxyPort = 4000 }), ["dotnet", "restore"]);
        var dash = args.IndexOf("--");
        Assert.Equal(["/run/dotnet-sandbox/tool/dotnet-sandbox-bridge", "__bridge", "4000", "/run/dotnet-sandbox/net/proxy.sock", "--", "dotnet", "restore"], args[(dash + 1)..]);
        Assert.Contains("--unshare-net", args);
    }

    [Theory]
    [InlineData("CONNECT api.nuget.org:443 HTTP/1.1\r\nHost: api.nuget.org:443", "CONNECT", "api.nuget.org", 443)]
    [InlineData("CONNECT [::1]:8443 HTTP/1.1", "CONNECT", "::1", 8443)]
    [InlineData("GET http://example.com/a?b=c HTTP/1.1\r\nHost: example.com", "GET", "example.com", 80)]
    [InlineData("POST http://example.com:8080/ HTTP/1.0", "POST", "example.com", 8080)]
    public void Proxy_request_heads_parse(string head, string method, string host, int port)
    {
        var parsed = HttpRequestHead.Parse(Encoding.ASCII.GetBytes(head))!;
        Assert.Equal((method, host, port), (parsed.Method, parsed.Host, parsed.Port));
    }

    [Theory]
    [InlineData("GET /relative HTTP/1.1")]
    [InlineData("CONNECT api.nuget.org HTTP/1.1")]
    [InlineData("GET https://example.com/ HTTP/1.1")]
    [InlineData("garbage")]
    public void Requests_a_forward_proxy_does_not_serve_are_refused(string head) =>
        Assert.Null(HttpRequestHead.Parse(Encoding.ASCII.GetBytes(head)));

    [Fact]
    public void Origin_requests_drop_proxy_headers_and_close_the_connection()
    {
        var head = HttpRequestHead.Parse("GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\nProxy-Authorization: Basic abc\r\nConnection: keep-alive\r\nAccept: */*"u8)!;
        var text = Encoding.ASCII.GetString(head.ToOriginRequest());
        Assert.StartsWith("GET /x HTTP/1.1\r\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Proxy-Authorization", text, StringComparison.Ordinal);
        Assert.DoesNotContain("keep-alive", text, StringComparison.Ordinal);
        Assert.EndsWith("Accept: */*\r\nConnection: close\r\n\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_summary_names_what_was_blocked_and_how_to_allow_it()
    {
        ConnectionRecord[] records =
        [
            new("api.nuget.org", 443, true, "preset", 1000, 5_000_000),
            new("deb.debian.org", 443, false, "not on the allowlist", 0, 0, Remedy: new HostRemedy("deb.debian.org")),
            new("deb.debian.org", 443, false, "not on the allowlist", 0, 0, Remedy: new HostRemedy("deb.debian.org")),
        ];
        var text = NetworkSummary.Format(records, NetworkMode.Filtered, Cli);
        Assert.Contains("blocked: deb.debian.org:443 (2×) — not on the allowlist; allow with --allow-host deb.debian.org", text, StringComparison.Ordinal);
        Assert.Contains("blocked: deb.debian.org:443 (2×) — not on the allowlist; allow with the host pattern 'deb.debian.org'", NetworkSummary.Format(records, NetworkMode.Filtered), StringComparison.Ordinal);
        Assert.Equal(string.Empty, NetworkSummary.Format(records[..1], NetworkMode.Filtered, Cli));
        Assert.Contains("--allow-host api.nuget.org", NetworkSummary.Format(records[..1], NetworkMode.Audit, Cli), StringComparison.Ordinal);
    }

    [Fact]
    public void The_audit_list_leaves_out_hosts_the_rules_already_allow()
    {
        var preset = Presets.Get("nuget")!.Single(r => r.Host == "api.nuget.org");
        var flag = HostRule.Parse("127.0.0.1:8080", "--allow-host", string.Empty, Origin.Setting(Origin.Settings.AllowHost));
        ConnectionRecord[] records =
        [
            new("api.nuget.org", 443, true, preset.Reason(Cli), 1000, 5_000_000, Rule: preset),
            new("127.0.0.1", 8080, true, flag.Reason(Cli), 10, 10, Rule: flag),
            new("deb.debian.org", 443, true, "audit mode: let through and recorded", 100, 2000),
            new("pkgs.example.com", 8443, true, "audit mode: let through and recorded", 100, 2000),
        ];
        var lines = NetworkSummary.Format(records, NetworkMode.Audit, Cli).Split('\n');
        var options = lines.Single(l => l.Contains("audit: to allow exactly these:", StringComparison.Ordinal));
        Assert.EndsWith(": --allow-host deb.debian.org --allow-host pkgs.example.com:8443", options, StringComparison.Ordinal);
        var covered = lines.Single(l => l.Contains("already allowed", StringComparison.Ordinal));
        Assert.Contains("api.nuget.org:443 (preset 'nuget')", covered, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:8080 (--allow-host on the command line)", covered, StringComparison.Ordinal);

        Assert.Contains("audit: to allow exactly these: nothing to add", NetworkSummary.Format(records[..1], NetworkMode.Audit), StringComparison.Ordinal);

        // Where each entry comes from is data: another host says it in its own words, no text is split.
        Assert.Contains("127.0.0.1:8080 (SandboxAllowedHost)", NetworkSummary.Format(records, NetworkMode.Audit, TestWordings.Item), StringComparison.Ordinal);
        Assert.Equal(new Origin(OriginKind.Preset, "nuget"), preset.Origin);
    }

    private static IRemedyWording Cli => TestWordings.Option;
}

internal static class BwrapCommandLineTestsAccess
{
    public static List<string> Build(SandboxPolicy policy, IReadOnlyList<string> command) =>
        [.. SandboxedBuild.Linux.BwrapCommandLine.Build(policy, command, FakeFileSystem.Debian())];
}
