using System.Diagnostics;
using System.Globalization;
using SandboxedBuild.IntegrationTests.Infrastructure;
using SandboxedBuild.Errors;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// Resource bounds seen from the host: a fork loop inside cannot hold more processes than
/// <c>--max-processes</c> (counted in the host's process table while it runs), a private tmpfs
/// cannot hold more than <c>--tmpfs-size</c> (measured from the host through the sandbox's root),
/// and <c>/dev</c> cannot be written at all; each next to the same work within the bounds.
/// </summary>
public sealed class ResourceBoundTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_fork_loop_cannot_exceed_the_process_bound_and_the_default_bound_lets_it_finish(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var marker = Marker();
        // The loop runs in a subshell: dash gives up at the first failed fork, and the sleeps it
        // started stay alive (orphans of the sandbox's init) while the host counts them.
        var script = $"(i=0; while [ $i -lt 200 ]; do sleep {marker} & i=$((i+1)); done; wait); echo loop-exit=$?; sleep 2";

        var bounded = RunCounting(id, ws, ["exec", "--max-processes", "50", "--", "/bin/sh", "-c", script], marker);
        var enforced = !(Cli.IsRoot && id == Identity.Current) || RootMayMakePidsCgroups;
        if (enforced)
        {
            Assert.True(bounded.MaxSeen <= 50, $"{bounded.MaxSeen} sleeps ran at once with --max-processes 50\n{bounded.Result}");
            Assert.True(bounded.MaxSeen >= 20, $"the loop did not get going ({bounded.MaxSeen} sleeps seen)\n{bounded.Result}");
            Assert.Contains("fork", bounded.Result.StandardError, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("loop-exit=0", bounded.Result.StandardOutput, StringComparison.Ordinal);
            Assert.DoesNotContain("SBX4008", bounded.Result.StandardError, StringComparison.Ordinal);
        }
        else
        {
            // Root without a pids cgroup: the kernel does not hold uid 0 to RLIMIT_NPROC, and the tool says so.
            Assert.Contains("SBX4008", bounded.Result.StandardError, StringComparison.Ordinal);
        }

        // The same loop under the default bound (8192) runs all 200 and finishes.
        var free = RunCounting(id, ws, ["exec", "--", "/bin/sh", "-c", script], marker);
        Assert.True(free.Result.ExitCode == 0, free.Result.ToString());
        Assert.Contains("loop-exit=0", free.Result.StandardOutput, StringComparison.Ordinal);
        Assert.True(free.MaxSeen > 50, $"only {free.MaxSeen} sleeps seen under the default bound\n{free.Result}");
        Assert.DoesNotContain("SBX4008", free.Result.StandardError, StringComparison.Ordinal);

        // Threads count as well: the bridge to the proxy, a .NET process, needs a few dozen.
        var echo = Cli.Sh(id, ws, "echo hello", options: ["--max-processes", "64"]);
        Assert.True(echo.ExitCode == 0, echo.ToString());
        Assert.Equal("hello\n", echo.StandardOutput);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_private_tmpfs_holds_no_more_than_its_size_and_dev_is_not_writable(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var marker = Marker();
        var script = "dd if=/dev/zero of=/tmp/big bs=1M count=64; echo dd-exit=$?; "
            + "dd if=/dev/zero of=\"$HOME/big\" bs=1M count=64 2>/dev/null; echo home-exit=$?; "
            + "touch /dev/planted; echo dev-exit=$?; "
            + "dd if=/dev/zero of=/planted bs=1M count=4 2>/dev/null; echo root-exit=$?; mkdir /run/planted; echo run-exit=$?; "
            + $"sleep {marker}";
        var (result, (held, heldInHome, planted)) = RunMeasuring(id, ws, ["exec", "--tmpfs-size", "16M", "--", "/bin/sh", "-c", script], marker,
            // From the host, through the sandbox's own root: what the tmpfs holds.
            pid => (new FileInfo($"/proc/{pid}/root/tmp/big").Length, new FileInfo($"/proc/{pid}/root{ws.Home}/big").Length,
                File.Exists($"/proc/{pid}/root/planted") || Directory.Exists($"/proc/{pid}/root/run/planted") || File.Exists($"/proc/{pid}/root/dev/planted")));
        Assert.True(held <= 16 << 20, $"/tmp holds {held} bytes with --tmpfs-size 16M\n{result}");
        Assert.True(heldInHome <= 16 << 20, $"the home holds {heldInHome} bytes with --tmpfs-size 16M\n{result}");
        Assert.True(held >= 8 << 20, $"the write did not get going ({held} bytes)\n{result}");
        Assert.Contains("No space left on device", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("dd-exit=0", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("home-exit=0", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("dev-exit=0", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", result.StandardError, StringComparison.Ordinal);
        // The sandbox's root and /dev are tmpfs mounts too, without a size: nothing may land there.
        Assert.False(planted, $"a file was written to the sandbox's root, /run or /dev\n{result}");
        Assert.DoesNotContain("root-exit=0", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("run-exit=0", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("dev-exit=", result.StandardOutput, StringComparison.Ordinal);

        // Within the bound the same writes work, and /dev's devices and /dev/shm still do.
        var legit = Cli.Sh(id, ws, "dd if=/dev/zero of=/tmp/small bs=1M count=4 2>/dev/null && dd if=/dev/zero of=\"$HOME/small\" bs=1M count=4 2>/dev/null && echo x > /dev/null && echo x > /dev/shm/x && wc -c < /tmp/small", options: ["--tmpfs-size", "16M"]);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.Equal((4 << 20).ToString(CultureInfo.InvariantCulture), legit.StandardOutput.Trim());

        // An invalid size is a usage error before anything runs.
        var invalid = Cli.Sh(id, ws, "echo ran", options: ["--tmpfs-size", "16Q"]);
        Assert.Contains("SBX1013", invalid.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("ran", invalid.StandardOutput, StringComparison.Ordinal);
        Assert.NotEqual(0, invalid.ExitCode);
        var zero = Cli.Sh(id, ws, "echo ran", options: ["--max-processes", "0"]);
        Assert.Contains("SBX1013", zero.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("ran", zero.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_tmpfs_size_is_well_below_the_machines_memory()
    {
        using var ws = new Workspace(Identity.Current);
        var r = Cli.Sh(Identity.Current, ws, "df -B1 --output=size /tmp \"$HOME\" /var/tmp /dev/shm | tail -n +2");
        Assert.True(r.ExitCode == 0, r.ToString());
        var memTotal = long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        var expected = Math.Min(2L << 30, memTotal / 16);
        var sizes = r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(s => long.Parse(s.Trim(), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(4, sizes.Count);
        // tmpfs rounds the size up to whole pages.
        Assert.All(sizes, s => Assert.InRange(s, expected - 4096, expected + 4096));
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Doctor_reports_the_bounds_and_proves_the_process_bound_where_it_holds(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Run(id, ws, ["doctor"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("[info] tmpfs bound: each private tmpfs (home, /tmp, /var/tmp, /dev/shm) holds at most ", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("[info] cgroup: ", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("memory and CPU are not bounded", r.StandardOutput, StringComparison.Ordinal);
        if (Cli.IsRoot && id == Identity.Current && RootMayMakePidsCgroups)
        {
            Assert.Contains("[info] process bound: at most 8192 processes per sandbox, threads included (a pids cgroup per sandbox below /sys/fs/cgroup", r.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("[info] cgroup: a pids cgroup per sandbox: ", r.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("[ok  ] fork past the process bound", r.StandardOutput, StringComparison.Ordinal);
        }
        else if (Cli.IsRoot && id == Identity.Current)
        {
            Assert.Contains("[info] process bound: 8192 processes is set, but NOT enforced", r.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("[skip] fork past the process bound", r.StandardOutput, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("[info] process bound: at most 8192 processes per sandbox", r.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("[ok  ] fork past the process bound", r.StandardOutput, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_project_commands_take_the_bounds_show_them_and_refuse_malformed_ones_before_evaluating()
    {
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "hello");

        var malformed = Cli.Run(Identity.Current, ws, ["build", "--tmpfs-size", "2GB"]);
        Assert.Contains("SBX1013", malformed.StandardError, StringComparison.Ordinal);
        Assert.NotEqual(0, malformed.ExitCode);
        var inferenceCache = Path.Combine(ws.Home, ".cache", "dotnet-sandbox", "projects");
        Assert.False(Directory.Exists(inferenceCache) && Directory.EnumerateFiles(inferenceCache).Any(), "the projects were evaluated despite the malformed bound");

        var policy = Cli.Run(Identity.Current, ws, ["policy", "--step", "build", "--format", "json", "--tmpfs-size", "64M", "--max-processes", "300"], timeoutSeconds: 300);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(policy.StandardOutput);
        var bounds = json.RootElement.GetProperty("bounds");
        Assert.Equal(64L << 20, bounds.GetProperty("tmpfsBytes").GetInt64());
        Assert.Equal(300, bounds.GetProperty("maxProcesses").GetInt32());
        Assert.Equal(!Cli.IsRoot || RootMayMakePidsCgroups, bounds.GetProperty("processBoundEnforced").GetBoolean());
        Assert.NotEmpty(Directory.EnumerateFiles(inferenceCache));

        var text = Cli.Run(Identity.Current, ws, ["policy", "--step", "build"], timeoutSeconds: 300);
        Assert.Contains("each private tmpfs (home, /tmp, /var/tmp, /dev/shm): ", text.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("processes, threads included: at most 8192 at once", text.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void As_root_each_sandbox_runs_in_a_pids_cgroup_of_its_own_that_is_gone_after_the_run_and_stale_ones_are_swept()
    {
        Assert.SkipUnless(Cli.IsRoot && File.Exists("/sys/fs/cgroup/pids/cgroup.procs"), "only root on a cgroup v1 pids hierarchy (as in CI) is checked here");
        using var ws = new Workspace(Identity.Current);
        // The tool runs in this process's pids cgroup and makes its own below it.
        var own = File.ReadLines("/proc/self/cgroup").Select(l => l.Split(':', 3)).Single(f => f[1].Split(',').Contains("pids"))[2];
        var parent = ("/sys/fs/cgroup/pids" + own).TrimEnd('/');
        var stale = Path.Join(parent, "dotnet-sandbox-stale" + Guid.NewGuid().ToString("N")[..7]);
        var notOurs = Path.Join(parent, "dotnet-sandboxed-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(stale);
        Directory.CreateDirectory(notOurs);
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-1));
        File.SetLastWriteTimeUtc(notOurs, DateTime.UtcNow.AddHours(-1));
        try
        {
            var marker = Marker();
            var (result, seen) = RunMeasuring(Identity.Current, ws, ["exec", "--max-processes", "40", "--", "/bin/sh", "-c", $"sleep {marker}; echo finished"], marker, pid =>
            {
                // As the host sees it: the command's pids cgroup, and its bound.
                var path = File.ReadLines($"/proc/{pid}/cgroup").Select(l => l.Split(':', 3)).Single(f => f[1].Split(',').Contains("pids"))[2];
                return (path, File.ReadAllText("/sys/fs/cgroup/pids" + path + "/pids.max").Trim(), Directory.Exists(stale));
            });
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("finished", result.StandardOutput, StringComparison.Ordinal);
            Assert.Matches("^" + own.TrimEnd('/') + "/dotnet-sandbox-[0-9a-f]{12}$", seen.path);
            Assert.Equal("40", seen.Item2);
            Assert.False(seen.Item3, "the empty cgroup of a run killed an hour ago was not removed");
            Assert.False(Directory.Exists("/sys/fs/cgroup/pids" + seen.path), "the run's cgroup is still there after the run");
            Assert.True(Directory.Exists(notOurs), "a cgroup the tool did not make was removed");
        }
        finally
        {
            foreach (var dir in new[] { stale, notOurs })
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir);
                }
            }
        }
    }

    /// <summary>Whether root may make pids cgroups here (a cgroup v1 pids hierarchy, or pids enabled at the unified root), seen independently of the tool.</summary>
    private static bool RootMayMakePidsCgroups { get; } =
        File.Exists("/sys/fs/cgroup/pids/cgroup.procs")
        || (File.Exists("/sys/fs/cgroup/cgroup.subtree_control") && File.ReadAllText("/sys/fs/cgroup/cgroup.subtree_control").Split(' ', '\n').Contains("pids"));

    private static string Marker() => "3." + Random.Shared.Next(100000, 999999).ToString(CultureInfo.InvariantCulture);

    /// <summary>Runs the tool while counting, in the host's process table, the processes <c>sleep MARKER</c>; the most seen at once.</summary>
    private static (CliResult Result, int MaxSeen) RunCounting(Identity id, Workspace ws, IEnumerable<string> args, string marker)
    {
        using var process = Cli.Start(id, ws, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Close();
        var max = 0;
        var deadline = Stopwatch.StartNew();
        while (!process.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            max = Math.Max(max, Sleeps(marker).Count);
            Thread.Sleep(50);
        }

        if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the run did not finish");
        }

        Assert.Empty(Sleeps(marker));
        return (new CliResult(process.ExitCode, stdout.Result, stderr.Result), max);
    }

    /// <summary>Runs the tool, and once <c>sleep MARKER</c> runs inside, measures with its host pid.</summary>
    private static (CliResult Result, T Measured) RunMeasuring<T>(Identity id, Workspace ws, IEnumerable<string> args, string marker, Func<int, T> measure)
    {
        using var process = Cli.Start(id, ws, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Close();
        var measured = measure(WaitForProcess(marker, process));
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the run did not finish");
        }

        return (new CliResult(process.ExitCode, stdout.Result, stderr.Result), measured);
    }

    private static int WaitForProcess(string marker, Process run)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (Sleeps(marker) is [var pid, ..])
            {
                return pid;
            }

            if (run.HasExited)
            {
                Assert.Fail($"the run ended before its marker appeared: exit {run.ExitCode}");
            }

            Thread.Sleep(20);
        }

        Assert.Fail("the marker process never appeared");
        return 0;
    }

    private static List<int> Sleeps(string marker)
    {
        var wanted = "sleep\0" + marker + "\0";
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).EndsWith(wanted, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
