using System.Diagnostics;
using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// Many sandboxes at once in one directory, and what a killed run leaves: no run may remove what
/// another still binds (a placeholder removed under a running sandbox detaches its read-only mount
/// and leaves the name writable inside), and the next run removes what a killed one left, only that.
/// </summary>
[Collection(nameof(DotnetBuildTests))]
public sealed class ConcurrencyTests
{
    // Names protected in a plain directory that do not exist there: each is held by a placeholder.
    private static readonly string[] ProtectedFiles = [".envrc", ".bash_login", ".git/config"];
    private static readonly string[] ProtectedDirectories = [".devcontainer", ".vscode"];

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public async Task Thirty_two_concurrent_execs_in_one_directory_all_succeed_all_stay_protected_and_leave_no_placeholder(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var before = Entries(ws.Project);
        const int Runs = 32;

        // Each run starts, waits a different while (so that some end while others still run and
        // others start while some end), then tries every protected name, then does legitimate work.
        var attacks = string.Concat(ProtectedFiles.Select(f => $"if (echo evil > {f}) 2>/dev/null; then echo BROKEN:{f}; fi; ")
            .Concat(ProtectedDirectories.Select(d => $"if mkdir -p {d}/x 2>/dev/null || (echo evil > {d}/f) 2>/dev/null; then echo BROKEN:{d}; fi; "))
            .Concat(["if git init -q . 2>/dev/null && [ -f .git/HEAD ]; then echo BROKEN:git-init; fi; "]));
        var tasks = Enumerable.Range(0, Runs).Select(i => Task.Run(() =>
        {
            var delay = (i % 8 * 0.15).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
            return Cli.Sh(id, ws, $"sleep {delay}; {attacks} sleep {delay}; {attacks} echo legit > out-{i}.txt && echo done-{i}");
        })).ToArray();
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(10), TestContext.Current.CancellationToken);

        for (var i = 0; i < Runs; i++)
        {
            var r = results[i];
            Assert.True(r.ExitCode == 0, $"run {i}: {r}");
            Assert.Contains($"done-{i}", r.StandardOutput, StringComparison.Ordinal);
            Assert.DoesNotContain("BROKEN", r.StandardOutput, StringComparison.Ordinal);
            Assert.Equal("legit\n", File.ReadAllText(Path.Combine(ws.Project, $"out-{i}.txt")));
        }

        // Nothing protected was created on the host, and every placeholder is gone with its lock file.
        Assert.Equal([.. before.Concat(Enumerable.Range(0, Runs).Select(i => Path.Combine(ws.Project, $"out-{i}.txt"))).Order(StringComparer.Ordinal)], Entries(ws.Project));
        Assert.Empty(LockFilesNaming(id, ws.Project));
    }

    [Fact]
    public void A_sandbox_of_another_user_in_the_same_directory_is_refused_rather_than_bound_to_its_placeholders()
    {
        // Each user's placeholder leases are in that user's own lock directory: a run cannot join
        // another user's placeholder, and a read-only bind of it is lost when that user's run ends
        // and removes it (the kernel detaches a mount whose mount point is unlinked elsewhere).
        Assert.SkipUnless(Cli.IsRoot, "two users' sandboxes in one directory need root to run as both");
        using var ws = new Workspace(Identity.Unprivileged);
        var envrc = Path.Combine(ws.Project, ".envrc");
        using var rootRun = Cli.Start(Identity.Current, ws, ["exec", "--no-network", "--", "/bin/sh", "-c", "echo started; sleep 3"]);
        Assert.True(rootRun.StandardOutput.ReadLine() == "started", rootRun.HasExited ? rootRun.StandardError.ReadToEnd() : "no output");
        Assert.True(File.Exists(envrc) && new FileInfo(envrc).Length == 0, "root's run holds no placeholder: the test proves nothing");

        // The user's sandbox starts while root's holds it, and tries .envrc after root's has ended.
        var user = Cli.Sh(Identity.Unprivileged, ws, "sleep 5; if (echo evil > .envrc) 2>/dev/null; then echo BROKEN; fi; echo ran");
        Assert.True(rootRun.WaitForExit(30_000));
        Assert.True(user.ExitCode == 125, user.ToString());
        Assert.Contains("SBX4010", user.StandardError, StringComparison.Ordinal);
        Assert.Contains("user 0", user.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("ran", user.StandardOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(envrc), "root's placeholder was left, or the user's command wrote one");

        // Once root's sandbox has ended, the user's runs as usual, still protected.
        var after = Cli.Sh(Identity.Unprivileged, ws, "if (echo evil > .envrc) 2>/dev/null; then echo BROKEN; fi; echo ok");
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Contains("ok", after.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("BROKEN", after.StandardOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(envrc));
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_killed_run_takes_its_sandbox_with_it_and_the_next_run_removes_only_what_it_left(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var before = Entries(ws.Project);
        var xdg = Path.Combine(ws.Root, "xdg");
        var temp = Path.Combine(ws.Root, "tmp");
        Directory.CreateDirectory(xdg);
        Directory.CreateDirectory(temp);
        File.SetUnixFileMode(xdg, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(temp, (UnixFileMode)Convert.ToInt32("1777", 8));
        ws.FixOwnership();
        var env = new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = xdg, ["TMPDIR"] = temp };
        string[] network = ["--allow-host", "127.0.0.1:9"];

        // The victim: the proxy's private directory in XDG_RUNTIME_DIR, placeholders in the project.
        var marker = Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var victim = Cli.Start(id, ws, ["exec", .. network, "--", "/bin/sh", "-c", $"echo started; exec sleep 7{marker}"], env);
        Assert.True(victim.StandardOutput.ReadLine() == "started", victim.HasExited ? victim.StandardError.ReadToEnd() : "no output");
        Assert.True(WaitUntil(() => SleepRuns(marker), TimeSpan.FromSeconds(5)), "the sandboxed command is not running");
        var runtime = Assert.Single(Directory.GetDirectories(xdg, "dotnet-sandbox-*"));
        Assert.True(File.Exists(runtime + ".owner"));
        Assert.True(File.Exists(Path.Combine(ws.Project, ".envrc")), "no placeholder while running");

        victim.Kill(entireProcessTree: false); // SIGKILL of the tool alone
        victim.WaitForExit();
        Assert.True(WaitUntil(() => !SleepRuns(marker), TimeSpan.FromSeconds(5)), "the sandbox outlived the tool");
        Assert.True(Directory.Exists(runtime), "nothing was left to clean: the test proves nothing");
        Assert.True(File.Exists(Path.Combine(ws.Project, ".envrc")));

        // Named like leftovers, but not ours to remove: a link (with an unlocked owner file of ours)
        // to a directory that must survive, and another user's directory.
        var target = Path.Combine(ws.Root, "precious");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "precious");
        var link = Path.Combine(xdg, "dotnet-sandbox-" + "b2b2b2b2b2b2");
        File.CreateSymbolicLink(link, target);
        File.WriteAllText(link + ".owner", string.Empty);
        ws.FixOwnership();
        (int Uid, int Gid)? other = !Cli.IsRoot ? null : id == Identity.Current ? Cli.IdsFor(Identity.Unprivileged) : (0, 0);
        var othersDir = Path.Combine(xdg, "dotnet-sandbox-" + "a1a1a1a1a1a1");
        if (other is { } o)
        {
            Directory.CreateDirectory(othersDir);
            File.WriteAllText(Path.Combine(othersDir, "keep.txt"), "theirs");
            File.WriteAllText(othersDir + ".owner", string.Empty);
            Assert.Equal(0, Cli.Exec("chown", "-R", $"{o.Uid}:{o.Gid}", othersDir, othersDir + ".owner").ExitCode);
        }

        var next = Cli.Run(id, ws, ["exec", .. network, "--", "/bin/sh", "-c", "if (echo evil > .envrc) 2>/dev/null; then echo BROKEN; fi; echo ok"], extraEnv: env);
        Assert.True(next.ExitCode == 0, next.ToString());
        Assert.Contains("ok", next.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("BROKEN", next.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("SBX4012", next.StandardError, StringComparison.Ordinal);
        Assert.Contains(runtime, next.StandardError, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(ws.Project, ".envrc"), next.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(runtime), next.ToString());
        Assert.False(File.Exists(runtime + ".owner"));
        Assert.Equal(before, Entries(ws.Project)); // the killed run's placeholders, and this run's, are gone

        // Left alone: another user's directory, the link and what it points to.
        if (other is not null)
        {
            Assert.Equal("theirs", File.ReadAllText(Path.Combine(othersDir, "keep.txt")));
            Assert.True(File.Exists(othersDir + ".owner"));
        }

        Assert.Equal(target, new FileInfo(link).LinkTarget);
        Assert.Equal("precious", File.ReadAllText(Path.Combine(target, "keep.txt")));

        // A live run's directory and placeholders survive the sweep of a run that starts meanwhile.
        using var live = Cli.Start(id, ws, ["exec", .. network, "--", "/bin/sh", "-c", "echo started; sleep 60"], env);
        Assert.True(live.StandardOutput.ReadLine() == "started", live.HasExited ? live.StandardError.ReadToEnd() : "no output");
        var liveRuntime = Assert.Single(Directory.GetDirectories(xdg, "dotnet-sandbox-*"), d => d != othersDir && d != link);
        var third = Cli.Run(id, ws, ["exec", .. network, "--", "/bin/sh", "-c", "if (echo evil > .envrc) 2>/dev/null; then echo BROKEN; fi; echo ok"], extraEnv: env);
        Assert.True(third.ExitCode == 0, third.ToString());
        Assert.DoesNotContain("BROKEN", third.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("SBX4012", third.StandardError, StringComparison.Ordinal);
        Assert.True(Directory.Exists(liveRuntime) && File.Exists(liveRuntime + ".owner"), "the sweep removed a live run's directory");
        Assert.True(File.Exists(Path.Combine(ws.Project, ".envrc")), "a live run's placeholder was removed");
        Assert.False(live.HasExited);

        // Once the live run ends too, nothing of it is left.
        Assert.Equal(0, Cli.Exec("kill", "-TERM", live.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).ExitCode);
        Assert.True(live.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Equal(before, Entries(ws.Project));
        Assert.False(Directory.Exists(liveRuntime));
        Assert.Empty(LockFilesNaming(id, ws.Project));
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public async Task Eight_concurrent_builds_of_one_multi_project_solution_all_succeed_with_correct_outputs(Identity id)
    {
        Cli.SkipIfRedundant(id);
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "multi");
        ws.FixOwnership();
        const int Builds = 8;

        var builds = await Task.WhenAll(Enumerable.Range(0, Builds).Select(_ => Task.Run(() => Cli.Run(id, ws, ["build", "multi.slnx"], timeoutSeconds: 1200))))
            .WaitAsync(TimeSpan.FromMinutes(25), TestContext.Current.CancellationToken);
        foreach (var build in builds)
        {
            Assert.True(build.ExitCode == 0, build.ToString());
        }

        // They took turns at the steps that write obj/ and bin/, and each says so when it waited.
        Assert.Contains(builds, b => b.StandardError.Contains("SBX4013", StringComparison.Ordinal));

        // The outputs are whole: the program built runs, with the library built beside it, and the tests pass.
        var run = Cli.Run(id, ws, ["run", "src/App/App.csproj", "--no-build"], timeoutSeconds: 300);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("SBX-MULTI hello, sandbox, from Multi.Lib", run.StandardOutput, StringComparison.Ordinal);
        var test = Cli.Run(id, ws, ["test", "multi.slnx", "--no-build"], timeoutSeconds: 600);
        Assert.True(test.ExitCode == 0, test.ToString());
        Assert.Contains("Passed!", test.StandardOutput, StringComparison.Ordinal);
        Assert.Empty(LockFilesNaming(id, ws.Project));
    }

    [Fact]
    public async Task Concurrent_trust_approvals_of_different_feeds_are_all_kept()
    {
        // N projects under one home, each asking for its own feed host; N 'trust --yes' at once, each
        // having read the store before any other wrote it.
        using var ws = new Workspace(Identity.Current);
        const int Projects = 6;
        var dirs = new List<string>();
        for (var i = 0; i < Projects; i++)
        {
            var dir = Path.Combine(ws.Home, "src", "p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            foreach (var file in Directory.EnumerateFiles(Path.Combine(Cli.TestAssets, "hello")))
            {
                File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
            }

            File.WriteAllText(Path.Combine(dir, "NuGet.config"), File.ReadAllText(Path.Combine(Cli.TestAssets, "private-feed", "NuGet.config")).Replace("48213", (48300 + i).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
            dirs.Add(dir);
        }

        var results = await Task.WhenAll(dirs.Select(dir => Task.Run(() => Cli.Run(Identity.Current, ws, ["trust", "--yes", Path.Combine(dir, "hello.csproj")], timeoutSeconds: 600))))
            .WaitAsync(TimeSpan.FromMinutes(15), TestContext.Current.CancellationToken);
        foreach (var r in results)
        {
            Assert.True(r.ExitCode == 0, r.ToString());
        }

        // Every approval is in the store: each project lists its feed as approved.
        for (var i = 0; i < Projects; i++)
        {
            var list = Cli.Run(Identity.Current, ws, ["trust", Path.Combine(dirs[i], "hello.csproj")]);
            Assert.Contains($"127.0.0.1:{48300 + i}", list.StandardOutput, StringComparison.Ordinal);
            Assert.DoesNotContain("[pending ]", list.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("[approved]", list.StandardOutput, StringComparison.Ordinal);
        }
    }

    private static List<string> Entries(string dir) =>
        [.. Directory.EnumerateFileSystemEntries(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Order(StringComparer.Ordinal)];

    /// <summary>The placeholder lock files (of the identity's lock directory) that name something under <paramref name="dir"/>.</summary>
    private static List<string> LockFilesNaming(Identity id, string dir)
    {
        var uid = Cli.IdsFor(id) is { } ids ? ids.Uid : int.Parse(Cli.Exec("id", "-u").StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var locks = "/tmp/dotnet-sandbox-locks-" + uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Directory.Exists(locks)
            ? [.. Directory.EnumerateFiles(locks, "ph-*.lock").Where(f => File.ReadAllText(f).Contains(dir + "/", StringComparison.Ordinal))]
            : [];
    }

    private static bool SleepRuns(string marker) =>
        Directory.EnumerateDirectories("/proc").Any(p =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(p, "cmdline")) == $"sleep\07{marker}\0";
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        });

    private static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > timeout)
            {
                return false;
            }

            Thread.Sleep(50);
        }

        return true;
    }
}
