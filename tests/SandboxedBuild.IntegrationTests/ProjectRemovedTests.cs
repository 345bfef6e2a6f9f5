using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// The project directory removed, or swapped for a link, on the host while the command runs: the
/// run ends with SBX4018 (exit 125), and the clean-up after the run does nothing through the path,
/// so nothing is written (or deleted) outside the policy.
/// </summary>
public sealed class ProjectRemovedTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public async Task A_project_directory_removed_during_the_run_is_SBX4018_and_is_not_recreated(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id, gitRepository: true);
        var outcome = await RunWhile(id, ws, () => Directory.Delete(ws.Project, recursive: true));
        AssertCoded(outcome, "it no longer exists");
        Assert.False(Path.Exists(ws.Project), "something was made again at the project's path");

        // The same run with the directory left alone ends with the command's status.
        Directory.CreateDirectory(ws.Project);
        _ = Cli.Exec("git", "init", "-q", ws.Project);
        ws.FixOwnership();
        var legit = await RunWhile(id, ws, () => { });
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.DoesNotContain("SBX4018", legit.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public async Task A_project_directory_swapped_for_a_link_leads_no_clean_up_into_the_link_s_target(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id, gitRepository: true);

        // Another repository, whose .git/commondir the post-run clean-up of this project's (absent)
        // .git/commondir would delete, were it done through the link.
        var victim = Path.Combine(ws.Outside, "victim");
        Directory.CreateDirectory(Path.Combine(victim, ".git"));
        File.WriteAllText(Path.Combine(victim, ".git", "commondir"), "precious\n");
        File.WriteAllText(Path.Combine(victim, ".git", "config.worktree"), "precious\n");
        ws.FixOwnership();
        SortedSet<string> Victim() => [.. Directory.EnumerateFileSystemEntries(victim, "*", SearchOption.AllDirectories)];
        var before = Victim();

        var moved = ws.Project + ".moved";
        var outcome = await RunWhile(id, ws, () =>
        {
            Directory.Move(ws.Project, moved);
            File.CreateSymbolicLink(ws.Project, victim);
        });
        Assert.Equal(before, Victim());
        Assert.Equal("precious\n", File.ReadAllText(Path.Combine(victim, ".git", "commondir")));
        Assert.Equal("precious\n", File.ReadAllText(Path.Combine(victim, ".git", "config.worktree")));
        AssertCoded(outcome, "a symbolic link is in its place now");

        // Put back, the same project runs and ends with the command's status.
        File.Delete(ws.Project);
        Directory.Move(moved, ws.Project);
        var legit = await RunWhile(id, ws, () => { });
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.DoesNotContain("SBX4018", legit.StandardError, StringComparison.Ordinal);
        Assert.Equal(before, Victim());
    }

    /// <summary>Runs a command that waits in the project while <paramref name="meanwhile"/> is done on the host.</summary>
    private static async Task<CliResult> RunWhile(Identity id, Workspace ws, Action meanwhile)
    {
        var ready = Path.Combine(ws.Project, "ready");
        var script = ": > ready; sleep 2; rm -f ready";
        using var tool = Cli.Start(id, ws, ["exec", "--", "/bin/sh", "-c", script]);
        var stdout = tool.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = tool.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.Exists(ready) && !tool.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        if (!File.Exists(ready) || tool.HasExited)
        {
            Assert.Fail("the command did not start, or ended too soon: " + await stderr);
        }

        meanwhile();
        Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(30)), "the tool hung");
        return new CliResult(tool.ExitCode, await stdout, await stderr);
    }

    private static void AssertCoded(CliResult r, string what)
    {
        Assert.True(r.ExitCode == 125, r.ToString());
        Assert.Contains("SBX4018:", r.StandardError, StringComparison.Ordinal);
        Assert.Contains(what, r.StandardError, StringComparison.Ordinal);
        Assert.Contains("hint:", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
    }
}
