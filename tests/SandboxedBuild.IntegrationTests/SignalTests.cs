using System.Diagnostics;
using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// Signals sent to the tool, as a terminal, a CI runner or a supervisor sends them: they reach every
/// process of the command's group, the exit status is 128+N, a repeated signal ends the whole
/// sandbox, and nothing of the sandbox is left a second after its end. Every process of a run
/// carries a unique marker in its command line, so what is left is found with pgrep on the host.
/// </summary>
public sealed class SignalTests
{
    // Records each signal it receives in the project, then dies of it (its default action), so that
    // the command's exit status is the shell's 128+N. A pipeline's members share the shell's process
    // group and, unlike '&' jobs, do not start with SIGINT and SIGQUIT ignored: they can trap them.
    private const string Recorder = """
        name=$1
        ulimit -c 0
        for sig in INT TERM HUP QUIT; do
          trap "echo \"$name $sig\" >> recorded.log; trap - $sig; kill -$sig \$\$" $sig
        done
        : > "ready.$name"
        while :; do sleep 0.05; done
        """;

    public static TheoryData<Identity, string, int, bool> Signals()
    {
        var data = new TheoryData<Identity, string, int, bool>();
        foreach (var id in new[] { Identity.Current, Identity.Unprivileged })
        {
            data.Add(id, "INT", 2, true);
            data.Add(id, "TERM", 15, true);
            data.Add(id, "HUP", 1, true);
            data.Add(id, "QUIT", 3, true);
            data.Add(id, "INT", 2, false);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Signals))]
    public async Task A_signal_reaches_the_whole_group_the_status_is_128_plus_N_and_nothing_is_left(Identity id, string name, int number, bool network)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var marker = "sbx-sig-" + Guid.NewGuid().ToString("N")[..12];
        File.WriteAllText(Path.Combine(ws.Project, "rec.sh"), Recorder);
        ws.FixOwnership();

        // Three recorders in the foreground pipeline, and one '&' job that ignores SIGINT and SIGQUIT
        // (POSIX), whose end is left to the sandbox's teardown. The shell itself dies of the signal
        // too, once its pipeline has (so the recorders are not cut short by the teardown).
        var script = "ulimit -c 0; for sig in INT TERM HUP QUIT; do trap \"trap - $sig; kill -$sig \\$\\$\" $sig; done; "
            + $"sh -c 'sleep 300' {marker}-bg & sh rec.sh a {marker} | sh rec.sh b {marker} | sh rec.sh c {marker}";
        string[] options = network ? [] : ["--no-network"];
        using var tool = Cli.Start(id, ws, ["exec", .. options, "--", "/bin/sh", "-c", script, marker]);
        var stderr = tool.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stdout = tool.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        WaitFor(() => new[] { "a", "b", "c" }.All(n => File.Exists(Path.Combine(ws.Project, "ready." + n))), "the recorders to start", tool, stderr);
        Assert.NotEmpty(Pgrep(marker + "-bg"));

        Signal(tool.Id, name);
        Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(20)), "the tool did not end after SIG" + name);
        var ended = Stopwatch.StartNew();
        var left = LeftAfter(marker, TimeSpan.FromSeconds(1));
        var err = await stderr;

        Assert.True(tool.ExitCode == 128 + number, $"exit {tool.ExitCode}\n{await stdout}\n{err}");
        var recorded = File.ReadAllLines(Path.Combine(ws.Project, "recorded.log")).Order().ToArray();
        Assert.Equal(new[] { $"a {name}", $"b {name}", $"c {name}" }, recorded);
        Assert.True(left.Count == 0, $"left {ended.ElapsedMilliseconds} ms after the end: {string.Join(", ", left)}");
        Assert.DoesNotContain("SBX4016", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public async Task A_second_SIGINT_kills_a_command_that_ignores_the_first(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var marker = "sbx-sig-" + Guid.NewGuid().ToString("N")[..12];
        var script = $"trap '' INT; sh -c 'sleep 300' {marker}-bg & : > ignoring.ready; while :; do sleep 0.05; done";
        using var tool = Cli.Start(id, ws, ["exec", "--", "/bin/sh", "-c", script, marker]);
        var stderr = tool.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        _ = tool.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        WaitFor(() => File.Exists(Path.Combine(ws.Project, "ignoring.ready")), "the command to start", tool, stderr);

        // The first is delivered and ignored: the command and the tool go on.
        Signal(tool.Id, "INT");
        Assert.False(tool.WaitForExit(TimeSpan.FromSeconds(1.5)), "the first SIGINT ended a command that ignores SIGINT");
        Assert.NotEmpty(Pgrep(marker));

        // The second ends the whole sandbox.
        Signal(tool.Id, "INT");
        Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(10)), "the second SIGINT did not end the sandbox");
        var left = LeftAfter(marker, TimeSpan.FromSeconds(1));
        var err = await stderr;
        Assert.True(tool.ExitCode == 137, $"exit {tool.ExitCode}\n{err}");
        Assert.Contains("SBX4016:", err, StringComparison.Ordinal);
        Assert.Contains("hint:", err, StringComparison.Ordinal);
        Assert.Empty(left);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public async Task A_signal_during_start_up_stops_the_run_before_the_command_and_undoes_the_placeholders(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var marker = "sbx-sig-" + Guid.NewGuid().ToString("N")[..12];

        // bubblewrap that takes its time to start, as on a loaded machine: the signal arrives while
        // the tool waits for the sandbox's init, with the placeholders already made.
        var slow = Path.Combine(ws.Root, "slowbin");
        Directory.CreateDirectory(slow);
        var started = Path.Combine(ws.Root, "slowbin", "started");
        File.WriteAllText(Path.Combine(slow, "bwrap"), $"#!/bin/sh\n: > {started}\nsleep 3\nexec {RealBwrap()} \"$@\"\n");
        File.SetUnixFileMode(Path.Combine(slow, "bwrap"), (UnixFileMode)Convert.ToInt32("755", 8));
        ws.FixOwnership();
        var env = new Dictionary<string, string> { ["PATH"] = slow + ":/usr/local/bin:/usr/bin:/bin" };
        var before = Listing(ws.Project);
        string[] command = ["exec", "--", "/bin/sh", "-c", ": > ran; sleep 300", marker];

        using (var tool = Cli.Start(id, ws, command, env))
        {
            var stderr = tool.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            _ = tool.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            WaitFor(() => File.Exists(started), "bubblewrap to be started", tool, stderr);
            Signal(tool.Id, "INT");
            Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(15)), "the tool hung after a SIGINT during start-up");
            var left = LeftAfter(marker, TimeSpan.FromSeconds(1));
            var err = await stderr;
            Assert.True(tool.ExitCode == 130, $"exit {tool.ExitCode}\n{err}");
            Assert.Contains("SBX4015:", err, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(ws.Project, "ran")), "the command ran after a SIGINT during start-up");
            Assert.Equal(before, Listing(ws.Project));
            Assert.Empty(left);
        }

        // The same slow start without a signal runs the command.
        File.Delete(started);
        var r = Cli.Run(id, ws, ["exec", "--", "/bin/sh", "-c", ": > ran", marker], extraEnv: env);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.True(File.Exists(Path.Combine(ws.Project, "ran")));
        Assert.DoesNotContain("SBX4015", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public async Task A_signal_while_the_egress_proxy_starts_stops_the_run_and_removes_its_private_directory(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var xdg = Path.Combine(ws.Root, "xdg");
        Directory.CreateDirectory(xdg);
        File.SetUnixFileMode(xdg, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        ws.FixOwnership();
        var before = Listing(ws.Project);

        // The proxy's private directory exists, the proxy itself takes 3 s to start: the signal
        // arrives before any sandbox was started, and the tool must still clean up and say so.
        var env = new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = xdg, ["DOTNET_SANDBOX_TEST_PROXY_FAULT"] = "slow-start:3000" };
        using (var tool = Cli.Start(id, ws, ["exec", "--allow-host", "127.0.0.1:9", "--", "/bin/sh", "-c", ": > ran"], env))
        {
            var stderr = tool.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            _ = tool.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            WaitFor(() => Directory.GetDirectories(xdg, "dotnet-sandbox-*").Length > 0, "the proxy's private directory", tool, stderr);
            Signal(tool.Id, "INT");
            Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(15)), "the tool hung after a SIGINT while the proxy started");
            var err = await stderr;
            Assert.True(tool.ExitCode == 130, $"exit {tool.ExitCode}\n{err}");
            Assert.Contains("SBX4015:", err, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(ws.Project, "ran")), "the command ran after a SIGINT while the proxy started");
            Assert.Empty(Directory.GetFileSystemEntries(xdg));
            Assert.Equal(before, Listing(ws.Project));
        }

        // The same slow start without a signal runs the command.
        var r = Cli.Run(id, ws, ["exec", "--allow-host", "127.0.0.1:9", "--", "/bin/sh", "-c", ": > ran"], extraEnv: env);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.True(File.Exists(Path.Combine(ws.Project, "ran")));
        Assert.Empty(Directory.GetFileSystemEntries(xdg));
    }

    private static string RealBwrap() =>
        new[] { "/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap" }.First(File.Exists);

    private static SortedSet<string> Listing(string dir) => [.. Directory.EnumerateFileSystemEntries(dir)];

    private static void Signal(int pid, string name)
    {
        var kill = Cli.Exec("kill", "-" + name, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(kill.ExitCode == 0, kill.ToString());
    }

    private static List<string> Pgrep(string pattern)
    {
        var r = Cli.Exec("pgrep", "-af", pattern);
        return [.. r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    /// <summary>What still runs with the marker after <paramref name="within"/> at most (empty as soon as nothing does).</summary>
    private static List<string> LeftAfter(string marker, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        List<string> left;
        while ((left = Pgrep(marker)).Count > 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(20);
        }

        return left;
    }

    private static void WaitFor(Func<bool> condition, string what, Process tool, Task<string> stderr)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (tool.HasExited)
            {
                Assert.Fail($"the tool ended (exit {tool.ExitCode}) before {what}: {stderr.GetAwaiter().GetResult()}");
            }

            if (DateTime.UtcNow > deadline)
            {
                tool.Kill(entireProcessTree: true);
                Assert.Fail("timed out waiting for " + what);
            }

            Thread.Sleep(20);
        }
    }
}
