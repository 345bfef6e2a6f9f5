using System.Collections.Concurrent;
using System.Diagnostics;
using SandboxedBuild.Errors;
using SandboxedBuild.IntegrationTests.Infrastructure;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// The prepare/spawn split, from a host that starts the sandbox itself with its own process API
/// (<see cref="Process"/>, as an MSBuild ToolTask would): the status, the records and the
/// protections are those of the CLI's own runs, and a process that fails, or is not the supervisor,
/// is a coded sandbox failure and never the command's status.
/// </summary>
public sealed class PreparedSandboxTests
{
    /// <summary>Fetches a URL through the proxy and prints its status.</summary>
    internal const string Curl = "curl -sS --max-time 20 --noproxy '' -o /dev/null -w '%{http_code}\\n'";

    [Fact]
    public async Task A_host_starts_prepared_networked_sandboxes_itself_concurrently_and_gets_each_status_and_record()
    {
        using var ws = new Workspace(Identity.Current);
        using var server = new LoopbackHttpServer();
        var (runner, bwrap, host) = Setup(ws);
        var blocked = new ConcurrentBag<Diagnostic>();

        var runs = Enumerable.Range(1, 2).Select(i => Task.Run(async () =>
        {
            var policy = ExecPolicyBuilder.Build(host, new ExecOptions { AllowHosts = [$"127.0.0.1:{server.Port}"] }, new List<Diagnostic>());
            var script = $"{Curl} -p http://127.0.0.1:{server.Port}/; {Curl} -p http://blocked-{i}.invalid/; echo \"secret=${{HOST_SECRET:-unset}}\"; exit {40 + i}";
            using var prepared = runner.Prepare(bwrap, policy, ["/bin/sh", "-c", script], new NetworkHooks { OnBlocked = blocked.Add });
            var (status, stdout, _) = await Start(prepared, env: new() { ["HOST_SECRET"] = "s3cr3t" });
            return (status, stdout, result: prepared.Complete(status));
        })).ToList();
        var results = await Task.WhenAll(runs);

        for (var i = 1; i <= 2; i++)
        {
            var (status, stdout, result) = results[i - 1];
            Assert.True(result.ExitCode == 40 + i && status == 40 + i, $"exit {result.ExitCode} (process {status}): {stdout} {string.Join(" | ", result.Warnings)}");
            Assert.StartsWith("200\n", stdout, StringComparison.Ordinal);

            // The sandbox's environment is the policy's, not the started process's.
            Assert.Contains("secret=unset", stdout, StringComparison.Ordinal);
            Assert.Contains(result.Connections, c => c.Host == "127.0.0.1" && c.Port == server.Port && c.Allowed);
            Assert.Equal($"blocked-{i}.invalid", Assert.Single(result.Connections, c => !c.Allowed).Host);
            Assert.Contains(blocked, d => d.Code == "SBX6013" && d.Message.Contains($"blocked-{i}.invalid", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_prepared_sandbox_keeps_the_protections_and_leaves_nothing_behind()
    {
        using var ws = new Workspace(Identity.Current, gitRepository: true);
        var (runner, bwrap, host) = Setup(ws);
        var policy = ExecPolicyBuilder.Build(host, new ExecOptions { NetworkMode = Network.NetworkMode.None }, new List<Diagnostic>());
        var script = "echo ok > built.txt; (echo x >> .git/config) 2>/dev/null && echo BROKEN:git; (echo x > .envrc) 2>/dev/null && echo BROKEN:envrc; "
            + $"cat {ws.Bait} 2>/dev/null && echo BROKEN:bait; exit 0";

        RunResult result;
        string stdout;
        using (var prepared = runner.Prepare(bwrap, policy, ["/bin/sh", "-c", script]))
        {
            // While it is prepared, the placeholder that holds the missing .envrc exists.
            Assert.True(File.Exists(Path.Combine(ws.Project, ".envrc")), "no placeholder holds .envrc");
            (var status, stdout, _) = await Start(prepared);
            result = prepared.Complete(status);
        }

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {stdout}");
        Assert.DoesNotContain("BROKEN", stdout, StringComparison.Ordinal);
        Assert.Equal("ok", File.ReadAllText(Path.Combine(ws.Project, "built.txt")).Trim());
        Assert.DoesNotContain("x", File.ReadAllText(Path.Combine(ws.Project, ".git", "config")).Split('\n').Select(l => l.Trim()));
        Assert.False(File.Exists(Path.Combine(ws.Project, ".envrc")), "the placeholder was left behind");
    }

    [Fact]
    public async Task A_process_that_is_not_the_supervisor_is_a_coded_failure_not_the_command_s_status()
    {
        using var ws = new Workspace(Identity.Current);
        var (runner, bwrap, host) = Setup(ws);
        var policy = ExecPolicyBuilder.Build(host, new ExecOptions { NetworkMode = Network.NetworkMode.None }, new List<Diagnostic>());
        var marker = Path.Combine(ws.Project, "ran");
        using var prepared = runner.Prepare(bwrap, policy, ["/bin/touch", marker]);

        // The host starts something else, which exits 0 as the command would have.
        using var other = Process.Start("/bin/true")!;
        await other.WaitForExitAsync(TestContext.Current.CancellationToken);
        var ex = Assert.Throws<SandboxException>(() => prepared.Complete(other.ExitCode));

        Assert.Equal("SBX4020", ex.Error.Code);
        Assert.Contains("never connected", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
        Assert.False(File.Exists(Path.Combine(ws.Project, ".envrc")), "the placeholder was left behind");
    }

    [Fact]
    public async Task A_bubblewrap_failure_in_the_supervisor_reaches_the_host_as_its_coded_error()
    {
        using var ws = new Workspace(Identity.Current);
        var (runner, _, host) = Setup(ws);
        var stub = Path.Combine(ws.Root, "stub-bwrap");
        File.WriteAllText(stub, "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'bubblewrap 0.8.0'; exit 0; fi\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n");
        File.SetUnixFileMode(stub, (UnixFileMode)Convert.ToInt32("755", 8));
        var policy = ExecPolicyBuilder.Build(host, new ExecOptions { NetworkMode = Network.NetworkMode.None }, new List<Diagnostic>());
        using var prepared = runner.Prepare(stub, policy, ["/bin/true"]);

        var (status, _, stderr) = await Start(prepared);
        var ex = Assert.Throws<SandboxException>(() => prepared.Complete(status));

        Assert.Equal("SBX4017", ex.Error.Code);
        Assert.Equal(ExitCodes.SandboxFailure, status);
        Assert.Contains("apparmor_parser", ex.Diagnostic.Hint, StringComparison.Ordinal);
        Assert.Contains("SBX4017", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_supervisor_relays_a_signal_to_the_command_group_and_disposing_early_kills_the_sandbox()
    {
        using var ws = new Workspace(Identity.Current);
        var (runner, bwrap, host) = Setup(ws);
        var policy = ExecPolicyBuilder.Build(host, new ExecOptions { NetworkMode = Network.NetworkMode.None }, new List<Diagnostic>());
        var started = Path.Combine(ws.Project, "started");

        // SIGTERM to the process the host started reaches the shell (its trap) and its sleep.
        using (var prepared = runner.Prepare(bwrap, policy, ["/bin/sh", "-c", $"trap 'exit 7' TERM; touch {started}; sleep 60 & wait"]))
        {
            using var process = Begin(prepared);
            await WaitForFile(started, process);
            Signal(process.Id, "-TERM");
            await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.Equal(7, prepared.Complete(process.ExitCode).ExitCode);
        }

        // A host that gives up disposes the scope while the command runs: the sandbox dies first,
        // and only then are its placeholders released.
        File.Delete(started);
        var after = Path.Combine(ws.Project, "after");
        Process running;
        using (var prepared = runner.Prepare(bwrap, policy, ["/bin/sh", "-c", $"touch {started}; sleep 5; touch {after}"]))
        {
            running = Begin(prepared);
            await WaitForFile(started, running);
        }

        using (running)
        {
            await running.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }

        await Task.Delay(TimeSpan.FromSeconds(6), TestContext.Current.CancellationToken);
        Assert.False(File.Exists(after), "the command went on after the host disposed its scope");
        Assert.False(File.Exists(Path.Combine(ws.Project, ".envrc")), "the placeholder was left behind");
    }

    private static (SandboxRunner Runner, string Bwrap, HostFacts Host) Setup(Workspace ws)
    {
        var host = HostFacts.Current(ws.Project) with { HomeDirectory = ws.Home };
        return (new SandboxRunner(host.FileSystem, Cli.BridgeAssembly), Bubblewrap.Require(host.Variables, host.FileSystem), host);
    }

    internal static Process Begin(PreparedSandbox prepared, Dictionary<string, string>? env = null)
    {
        var info = new ProcessStartInfo(prepared.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in prepared.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in env ?? [])
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info)!;
        process.StandardInput.Close();
        return process;
    }

    internal static async Task<(int Status, string Stdout, string Stderr)> Start(PreparedSandbox prepared, Dictionary<string, string>? env = null)
    {
        using var process = Begin(prepared, env);
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", [signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    private static async Task WaitForFile(string path, Process process)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(path))
        {
            if (process.HasExited)
            {
                Assert.Fail($"the process ended before '{Path.GetFileName(path)}' appeared: {process.StandardError.ReadToEnd()}");
            }

            Assert.True(DateTime.UtcNow < deadline, $"'{path}' never appeared");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
