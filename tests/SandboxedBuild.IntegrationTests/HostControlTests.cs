using System.Diagnostics;
using System.Runtime.InteropServices;
using SandboxedBuild.Errors;
using SandboxedBuild.IntegrationTests.Infrastructure;
using SandboxedBuild.Interop;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// A library host (this test process, not dotnet-sandbox) stops its runs with a cancellation token,
/// and its own process's signals are left alone unless it asks for them to be relayed: what an
/// MSBuild task (cancelled by the build) and an MCP server (cancelled by its client) need.
/// </summary>
[Collection(nameof(ProcessSignalTests))]
public sealed class HostControlTests
{
    public static TheoryData<bool> Networks => [false, true];

    [Theory]
    [MemberData(nameof(Networks))]
    public async Task A_cancelled_run_delivers_SIGTERM_to_the_command_group_and_returns_its_status(bool network)
    {
        using var ws = new Workspace(Identity.Current);
        var (runner, bwrap, policy) = Setup(ws, network);
        var trapped = Path.Combine(ws.Project, "trapped");
        var started = Path.Combine(ws.Project, "started");

        // The shell records the SIGTERM and exits 7; its sleep, in the same group, gets it too.
        var script = $"trap 'echo term > {trapped}; exit 7' TERM; touch {started}; sleep 60 & wait";
        using var cancel = new CancellationTokenSource();
        var run = Task.Run(() => runner.Run(bwrap, policy, ["/bin/sh", "-c", script], streams: CommandStreams.Discarded, control: new RunControl { Cancellation = cancel.Token }));
        await WaitForFile(started, run);
        var clock = Stopwatch.StartNew();
        await cancel.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == 7, $"exit {result.ExitCode}: {string.Join(" | ", result.Warnings)}");
        Assert.Equal("term", File.ReadAllText(trapped).Trim());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the run took {clock.Elapsed} to end after the cancellation");
        Assert.DoesNotContain(result.Warnings, w => w.Code is "SBX4015" or "SBX4016");
    }

    [Fact]
    public async Task A_command_that_ignores_the_cancellation_is_killed_with_its_sandbox_after_the_grace_period()
    {
        using var ws = new Workspace(Identity.Current);
        var (runner, bwrap, policy) = Setup(ws, network: false);
        var started = Path.Combine(ws.Project, "started");
        var after = Path.Combine(ws.Project, "after");
        using var cancel = new CancellationTokenSource();
        var control = new RunControl { Cancellation = cancel.Token, CancelGrace = TimeSpan.FromMilliseconds(500) };
        var run = Task.Run(() => runner.Run(bwrap, policy, ["/bin/sh", "-c", $"trap '' TERM; touch {started}; sleep 30; touch {after}"], streams: CommandStreams.Discarded, control: control));
        await WaitForFile(started, run);
        await cancel.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(128 + 9, result.ExitCode);
        Assert.Contains(result.Warnings, w => w.Code == "SBX4016");
        Assert.False(File.Exists(after), "the command went on after the sandbox was killed");
    }

    [Fact]
    public void A_run_cancelled_before_it_starts_never_runs_the_command_and_says_why()
    {
        using var ws = new Workspace(Identity.Current);
        var (runner, bwrap, policy) = Setup(ws, network: true);
        var marker = Path.Combine(ws.Project, "ran");
        var control = new RunControl { Cancellation = new CancellationToken(canceled: true) };

        var result = runner.Run(bwrap, policy, ["/bin/touch", marker], streams: CommandStreams.Discarded, control: control);

        Assert.Equal(128 + 15, result.ExitCode);
        Assert.False(File.Exists(marker), "the command ran although the run was cancelled before it started");
        var warning = Assert.Single(result.Warnings, w => w.Code == "SBX4015");
        Assert.Contains("the host's cancellation arrived before the command started", warning.Message, StringComparison.Ordinal);
        Assert.Empty(result.Connections);
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 128 + 1)]
    public async Task The_host_process_signals_reach_the_command_only_when_the_host_relays_them(bool relay, int expected)
    {
        using var ws = new Workspace(Identity.Current);
        var (runner, bwrap, policy) = Setup(ws, network: false);
        var started = Path.Combine(ws.Project, "started");
        var seenByHost = 0;

        // The host's own handler; without it a SIGHUP would end this test process.
        using var own = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true;
            Interlocked.Increment(ref seenByHost);
        });
        var control = relay ? RunControl.ProcessSignals : RunControl.None;
        var run = Task.Run(() => runner.Run(bwrap, policy, ["/bin/sh", "-c", $"touch {started}; sleep 3"], streams: CommandStreams.Discarded, control: control));
        await WaitForFile(started, run);
        using (var kill = Process.Start("kill", ["-HUP", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        var result = await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.True(result.ExitCode == expected, $"exit {result.ExitCode}: {string.Join(" | ", result.Warnings)}");
        Assert.True(Volatile.Read(ref seenByHost) >= 1, "the host's own SIGHUP handler was not called");
    }

    private static (SandboxRunner Runner, string Bwrap, SandboxPolicy Policy) Setup(Workspace ws, bool network)
    {
        var host = HostFacts.Current(ws.Project) with { HomeDirectory = ws.Home };
        var options = network
            ? new ExecOptions { AllowHosts = ["example.invalid"] }
            : new ExecOptions { NetworkMode = NetworkMode.None };
        var policy = ExecPolicyBuilder.Build(host, options, new List<Diagnostic>());
        return (new SandboxRunner(host.FileSystem, Cli.BridgeAssembly), Bubblewrap.Require(host.Variables, host.FileSystem), policy);
    }

    private static async Task WaitForFile(string path, Task run)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(path))
        {
            Assert.False(run.IsCompleted, $"the run ended before '{Path.GetFileName(path)}' appeared");
            Assert.True(DateTime.UtcNow < deadline, $"'{path}' never appeared");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}

/// <summary>Tests that send signals to this very process: none of them runs beside another.</summary>
[CollectionDefinition(nameof(ProcessSignalTests), DisableParallelization = true)]
public sealed class ProcessSignalTests;
