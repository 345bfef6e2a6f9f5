using System.Collections.Concurrent;
using SandboxedBuild.Errors;
using SandboxedBuild.IntegrationTests.Infrastructure;
using SandboxedBuild.Interop;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// A long-lived host (an MSBuild node, an MCP server) runs many sandboxes at once through one
/// <see cref="ProxyHost"/>: each run is a session with its own policy and records, every decision
/// reaches the host's one subscription with the run's name, a run whose bridge fails does not
/// disturb the others, and nothing of a run is left open once it ended.
/// </summary>
public sealed class ProxyHostRunTests
{
    private const string Curl = PreparedSandboxTests.Curl;

    [Fact]
    public async Task Concurrent_runs_through_one_proxy_host_keep_their_own_policy_records_and_names()
    {
        using var ws = new Workspace(Identity.Current);
        using var server = new LoopbackHttpServer();
        var host = HostFacts.Current(ws.Project) with { HomeDirectory = ws.Home };
        var bwrap = Bubblewrap.Require(host.Variables, host.FileSystem);
        var events = new ConcurrentQueue<ProxyEvent>();
        await using var proxyHost = new ProxyHost(onEvent: events.Enqueue);
        var runner = new SandboxRunner(host.FileSystem, Cli.BridgeAssembly, proxyHost);

        // Runs 1 and 2 may reach the server; run 3 may not. Each asks for a host of its own that no rule allows.
        SandboxPolicy Policy(int i) => ExecPolicyBuilder.Build(host, new ExecOptions { AllowHosts = i == 3 ? ["allowed-3.invalid"] : [$"127.0.0.1:{server.Port}"] }, new List<Diagnostic>());
        string Script(int i) => $"{Curl} -p http://127.0.0.1:{server.Port}/; {Curl} -p http://blocked-{i}.invalid/; exit {40 + i}";

        var ran = Enumerable.Range(1, 2).Select(i => Task.Run(() =>
            runner.Run(bwrap, Policy(i), ["/bin/sh", "-c", Script(i)], new NetworkHooks { Name = $"run-{i}" }, streams: CommandStreams.Discarded))).ToList();
        var prepared = Task.Run(async () =>
        {
            using var sandbox = runner.Prepare(bwrap, Policy(3), ["/bin/sh", "-c", Script(3)], new NetworkHooks { Name = "run-3" });
            var (status, stdout, _) = await PreparedSandboxTests.Start(sandbox);
            return (stdout, result: sandbox.Complete(status));
        });
        var results = await Task.WhenAll(ran);
        var (thirdOut, third) = await prepared;

        for (var i = 1; i <= 2; i++)
        {
            var result = results[i - 1];
            Assert.True(result.ExitCode == 40 + i, $"exit {result.ExitCode}: {string.Join(" | ", result.Warnings)}");
            Assert.Contains(result.Connections, c => c.Host == "127.0.0.1" && c.Port == server.Port && c.Allowed);
            Assert.Equal($"blocked-{i}.invalid", Assert.Single(result.Connections, c => !c.Allowed).Host);
        }

        // The third run's policy is its own: the server the others reach is refused to it.
        Assert.True(third.ExitCode == 43, $"exit {third.ExitCode}: {thirdOut}");
        Assert.Equal(["127.0.0.1", "blocked-3.invalid"], third.Connections.Where(c => !c.Allowed).Select(c => c.Host).Order());
        Assert.DoesNotContain(third.Connections, c => c.Allowed);

        // Every decision reached the host's subscriber once, with its run's name and session.
        for (var i = 1; i <= 3; i++)
        {
            var name = $"run-{i}";
            var told = events.Where(e => e.SessionName == name).ToList();
            Assert.Single(told.Select(e => e.SessionId).Distinct());
            var refusal = Assert.Single(told, e => e.Record.Host == $"blocked-{i}.invalid");
            Assert.False(refusal.Record.Allowed);
            Assert.Equal($"blocked-{i}.invalid", refusal.Record.Remedy?.Pattern);
        }

        Assert.Equal(3, events.Select(e => e.SessionId).Distinct().Count());

        // A run whose bridge does not start, through the same host, is its own coded failure.
        var fake = BridgeTests.Script(ws, "#!/bin/sh\nexit 42\n");
        var failed = new SandboxRunner(host.FileSystem, fake, proxyHost).Run(bwrap, Policy(1), ["/bin/true"], streams: CommandStreams.Discarded);
        Assert.True(failed.ExitCode == 125, $"exit {failed.ExitCode}: {string.Join(" | ", failed.Warnings)}");
        Assert.Contains(failed.Warnings, w => w.Code == "SBX6011");

        // Nothing of any run is left open, and the host still serves.
        Assert.Equal(0, proxyHost.OpenSessions);
        Assert.Equal(4, proxyHost.SessionsOpened);
        var again = runner.Run(bwrap, Policy(1), ["/bin/sh", "-c", $"{Curl} -p http://127.0.0.1:{server.Port}/"], streams: CommandStreams.Discarded);
        Assert.True(again.ExitCode == 0, $"exit {again.ExitCode}: {string.Join(" | ", again.Warnings)}");
        Assert.Equal(0, proxyHost.OpenSessions);
    }
}
