using System.Text.Json;
using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// Symbolic links as attacks on the policy: committed to the repository, planted by an earlier
/// sandboxed run, or left in the packages folder. bubblewrap binds a link's target, so each must be
/// refused on the host before it becomes a mount; each attack is checked on the host, and paired
/// with the same work done without the link.
/// </summary>
[Collection(nameof(DotnetBuildTests))]
public sealed class HostileLinkTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_committed_link_named_as_output_path_is_not_bound_and_nothing_is_written_through_it(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "hello");
        var csproj = Path.Combine(ws.Project, "hello.csproj");
        var original = File.ReadAllText(csproj);
        File.WriteAllText(csproj, original.Replace("</PropertyGroup>", "<BaseOutputPath>h/</BaseOutputPath></PropertyGroup>", StringComparison.Ordinal));
        File.CreateSymbolicLink(Path.Combine(ws.Project, "h"), "..");
        ws.FixOwnership();
        var parent = Path.GetDirectoryName(ws.Project)!;
        // Listed without descending into the project, where the link would loop back here.
        SortedSet<string> Around() => [.. Directory.EnumerateFileSystemEntries(parent), .. Assets.Files(ws.Home, "src", ".cache")];
        var before = Around();

        var policy = Cli.Run(id, ws, ["policy", "--step", "build", "--format", "json"], timeoutSeconds: 300);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        Assert.DoesNotContain(Writes(policy.StandardOutput), w => w.StartsWith(ws.Project + "/h", StringComparison.Ordinal) || w == parent);
        Assert.Contains("SBX3016", policy.StandardError, StringComparison.Ordinal);

        var build = Cli.Run(id, ws, ["build"], timeoutSeconds: 600);
        Assert.Contains("SBX3016", build.StandardError, StringComparison.Ordinal);
        // Inside, the link resolves against what the sandbox sees (the private home), so the build
        // may even succeed; what counts is the host.
        Assert.Equal(before, Around());
        Assert.False(Directory.Exists(Path.Combine(parent, "Debug")), "the build wrote through the link");

        // The same project with a real directory builds.
        File.Delete(Path.Combine(ws.Project, "h"));
        File.WriteAllText(csproj, original);
        var legit = Cli.Run(id, ws, ["build"], timeoutSeconds: 600);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.True(File.Exists(Path.Combine(ws.Project, "bin", "Debug", "net10.0", "hello.dll")));
    }

    [Fact]
    public void A_link_and_restore_props_an_earlier_build_planted_in_obj_do_not_redirect_the_next_build()
    {
        // What a build (which writes obj/) can leave for the next run: a link, and a props file
        // that MSBuild imports from obj/ naming an output path through it.
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "hello");
        var obj = Path.Combine(ws.Project, "obj");
        Directory.CreateDirectory(obj);
        File.CreateSymbolicLink(Path.Combine(obj, "h"), "../..");
        var props = Path.Combine(obj, "hello.csproj.nuget.g.props");
        File.WriteAllText(props, "<Project><PropertyGroup><BaseOutputPath>$(MSBuildProjectDirectory)/obj/h/</BaseOutputPath></PropertyGroup></Project>");
        var parent = Path.GetDirectoryName(ws.Project)!;
        var before = Directory.EnumerateFileSystemEntries(parent).Order(StringComparer.Ordinal).ToList();

        var policy = Cli.Run(Identity.Current, ws, ["policy", "--step", "build", "--format", "json"], timeoutSeconds: 300);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        Assert.Contains("SBX3016", policy.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(Writes(policy.StandardOutput), w => w.StartsWith(obj + "/h", StringComparison.Ordinal) || PathIsSameOrAbove(w, parent));

        _ = Cli.Run(Identity.Current, ws, ["build", "--no-restore"], timeoutSeconds: 600);
        Assert.Equal(before, Directory.EnumerateFileSystemEntries(parent).Order(StringComparer.Ordinal).ToList());

        // Without the planted pair the project builds.
        File.Delete(Path.Combine(obj, "h"));
        File.Delete(props);
        var legit = Cli.Run(Identity.Current, ws, ["build"], timeoutSeconds: 600);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.True(File.Exists(Path.Combine(ws.Project, "bin", "Debug", "net10.0", "hello.dll")));
    }

    [Fact]
    public void An_output_path_through_an_absolute_link_to_outside_is_not_bound()
    {
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "hello");
        var csproj = Path.Combine(ws.Project, "hello.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</PropertyGroup>", "<OutputPath>out/x/</OutputPath><IntermediateOutputPath>cache/o/</IntermediateOutputPath></PropertyGroup>", StringComparison.Ordinal));
        File.CreateSymbolicLink(Path.Combine(ws.Project, "out"), ws.Outside);
        Directory.CreateDirectory(Path.Combine(ws.Project, "real"));
        File.CreateSymbolicLink(Path.Combine(ws.Project, "cache"), "real/../../../.ssh");

        var policy = Cli.Run(Identity.Current, ws, ["policy", "--step", "build", "--format", "json"], timeoutSeconds: 300);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        var writes = Writes(policy.StandardOutput);
        Assert.DoesNotContain(writes, w => w.StartsWith(ws.Project + "/out", StringComparison.Ordinal) || w.StartsWith(ws.Project + "/cache", StringComparison.Ordinal));
        Assert.Contains(ws.Project + "/obj", writes);
        Assert.Equal(2, policy.StandardError.Split("SBX3016").Length - 1);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Allow_write_of_a_directory_an_earlier_run_replaced_by_a_link_is_refused(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Directory.CreateDirectory(Path.Combine(ws.Project, "out"));
        ws.FixOwnership();

        // The earlier run: the working directory is writable, so it may swap out for a link.
        var plant = Cli.Sh(id, ws, "rm -r out && ln -s .. out && echo planted");
        Assert.True(plant.ExitCode == 0, plant.ToString());
        Assert.Equal("..", new FileInfo(Path.Combine(ws.Project, "out")).LinkTarget);

        var escaped = Path.Combine(Path.GetDirectoryName(ws.Project)!, "escaped.txt");
        var r = Cli.Sh(id, ws, "echo pwned > out/escaped.txt", null, null, "--allow-write", "out");
        Assert.Equal(125, r.ExitCode);
        Assert.Contains("SBX3015", r.StandardError, StringComparison.Ordinal);
        Assert.Contains(ws.Project + "/out", r.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(escaped), "the write went through the link");

        var read = Cli.Sh(id, ws, "cat out/other/secret.txt", null, null, "--allow-read", "out");
        Assert.Equal(125, read.ExitCode);
        Assert.DoesNotContain(ws.Bait, read.StandardOutput, StringComparison.Ordinal);

        // A real directory named on the command line is writable.
        var legit = Cli.Sh(id, ws, $"echo ok > '{ws.Outside}/ok.txt'", null, null, "--allow-write", ws.Outside);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.Equal("ok\n", File.ReadAllText(Path.Combine(ws.Outside, "ok.txt")));
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_directory_swapped_for_a_link_while_a_run_starts_never_binds_the_target(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Directory.CreateDirectory(Path.Combine(ws.Project, "out"));
        ws.FixOwnership();
        var parent = Path.GetDirectoryName(ws.Project)!;

        // A second sandbox in the same directory swaps out/ for a link to the parent and back, as
        // fast as it can, for the whole test.
        using var attacker = Cli.Start(id, ws, ["exec", "--no-network", "--", "/bin/sh", "-c",
            "end=$(($(date +%s) + 60)); while [ $(date +%s) -lt $end ]; do mv out out.real && ln -s .. out && rm out && mv out.real out; done"]);
        var attackerErrors = new System.Text.StringBuilder();
        attacker.ErrorDataReceived += (_, e) => { lock (attackerErrors) { attackerErrors.AppendLine(e.Data); } };
        attacker.BeginErrorReadLine();
        try
        {
            // Only once it is swapping: until then the runs below would test nothing.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (new FileInfo(Path.Combine(ws.Project, "out")).LinkTarget is null && !Directory.Exists(Path.Combine(ws.Project, "out.real")))
            {
                Assert.False(attacker.HasExited, "the swapping sandbox ended: " + attackerErrors);
                Assert.True(DateTime.UtcNow < deadline, "the swapping sandbox never swapped: " + string.Join(" ", Directory.EnumerateFileSystemEntries(ws.Project)) + " " + attackerErrors);
                Thread.Sleep(5);
            }

            var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < 25; i++)
            {
                var r = Cli.Sh(id, ws, "echo pwned > out/escaped.txt && echo wrote", null, null, "--no-network", "--allow-write", "out");
                var outcome = r.StandardError.Contains("SBX4009", StringComparison.Ordinal) ? "SBX4009 (swapped between check and mount)"
                    : r.StandardError.Contains("SBX3015", StringComparison.Ordinal) ? "SBX3015 (a link at check time)"
                    : r.StandardError.Contains("SBX3001", StringComparison.Ordinal) ? "SBX3001 (missing at check time)"
                    : r.ExitCode == 0 ? "ran on the real directory"
                    : "failed (" + r.ExitCode + "): " + r.StandardError.Split('\n')[0];
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
                Assert.False(File.Exists(Path.Combine(parent, "escaped.txt")), "the write went through the link: " + r);
                Assert.True(r.ExitCode is 0 or 1 or 2 or 125, r.ToString());
            }

            TestContext.Current.TestOutputHelper?.WriteLine("outcomes: " + string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}")));
        }
        finally
        {
            attacker.Kill(entireProcessTree: true);
            attacker.WaitForExit();
        }

        Assert.False(File.Exists(Path.Combine(parent, "escaped.txt")));
    }

    [Fact]
    public void A_link_target_with_terminal_control_sequences_reaches_stderr_escaped()
    {
        // The target is text a sandbox chose: an OSC that would retitle the terminal, a CSI that
        // would clear it. The refusal names it, escaped.
        using var ws = new Workspace(Identity.Current);
        File.CreateSymbolicLink(Path.Combine(ws.Project, "out"), "\u001b]0;pwned\u0007\u001b[2J..");
        var r = Cli.Sh(Identity.Current, ws, "true", null, null, "--no-network", "--allow-write", "out");
        Assert.Contains("SBX3015", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', r.StandardError);
        Assert.DoesNotContain('\u0007', r.StandardError);
        Assert.Contains("\\x1B]0;pwned", r.StandardError, StringComparison.Ordinal);

        // A plain directory of that name is fine.
        File.Delete(Path.Combine(ws.Project, "out"));
        Directory.CreateDirectory(Path.Combine(ws.Project, "out"));
        var legit = Cli.Sh(Identity.Current, ws, "echo ok > out/ok.txt", null, null, "--no-network", "--allow-write", "out");
        Assert.True(legit.ExitCode == 0, legit.ToString());
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_protected_name_that_is_a_link_refuses_the_run_and_shows_nothing(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        File.CreateSymbolicLink(Path.Combine(ws.Project, ".vscode"), "../../.ssh");
        ws.FixOwnership();

        var r = Cli.Sh(id, ws, "cat .vscode/id_ed25519; echo ran");
        Assert.Equal(125, r.ExitCode);
        Assert.Contains("SBX3017", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(ws.Bait, r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("ran", r.StandardOutput, StringComparison.Ordinal);

        File.Delete(Path.Combine(ws.Project, ".vscode"));
        var legit = Cli.Sh(id, ws, "cat .vscode/id_ed25519; echo ran");
        Assert.Contains("ran", legit.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(ws.Bait, legit.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_link_in_the_packages_folder_is_never_bound_and_one_a_restore_plants_is_removed(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "hello");
        var csproj = Path.Combine(ws.Project, "hello.csproj");
        // A restore-time target, as a hostile project or package would have: it reads through the
        // old link, and plants a new one for the next run.
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</Project>", """
              <Target Name="Plant" BeforeTargets="Restore;_GenerateRestoreGraph">
                <Exec Command="cat &quot;$NUGET_PACKAGES/x/1.0.0/.ssh/id_ed25519&quot;; mkdir -p &quot;$NUGET_PACKAGES/z&quot; &amp;&amp; ln -sfn ../../.. &quot;$NUGET_PACKAGES/z/9.9.9&quot; &amp;&amp; echo SBX-PLANTED" ContinueOnError="true" />
              </Target>
            </Project>
            """, StringComparison.Ordinal));
        Directory.CreateDirectory(Path.Combine(ws.Packages, "x"));
        File.CreateSymbolicLink(Path.Combine(ws.Packages, "x", "1.0.0"), "../../..");
        ws.FixOwnership();

        var policy = Cli.Run(id, ws, ["policy", "--step", "restore", "--format", "bwrap"], timeoutSeconds: 300);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        Assert.DoesNotContain("x/1.0.0", policy.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("bait.package/1.0.0", policy.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("SBX3023", policy.StandardError, StringComparison.Ordinal);

        var restore = Cli.Run(id, ws, ["restore"], timeoutSeconds: 300);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Contains("SBX-PLANTED", restore.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(ws.Bait, restore.StandardOutput + restore.StandardError, StringComparison.Ordinal);
        Assert.Contains("SBX3024", restore.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(ws.Packages, "z", "9.9.9")) || Directory.Exists(Path.Combine(ws.Packages, "z", "9.9.9")), "the planted link is still there");
        Assert.NotNull(new FileInfo(Path.Combine(ws.Packages, "x", "1.0.0")).LinkTarget);
        Assert.Equal(ws.Bait, File.ReadAllText(Path.Combine(ws.Home, ".ssh", "id_ed25519")));
    }

    [Theory]
    [InlineData("$(MSBuildProjectDirectory)/..")]
    [InlineData("$(MSBuildProjectDirectory)")]
    [InlineData("$(MSBuildProjectDirectory)/sub/..")]
    public void A_results_directory_that_holds_the_sources_is_not_writable(string results)
    {
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "hello");
        var csproj = Path.Combine(ws.Project, "hello.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</PropertyGroup>", $"<IsTestProject>true</IsTestProject><VSTestResultsDirectory>{results}</VSTestResultsDirectory></PropertyGroup>", StringComparison.Ordinal));

        var policy = Cli.Run(Identity.Current, ws, ["policy", "--step", "test", "--format", "json"], timeoutSeconds: 300);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        var writes = Writes(policy.StandardOutput);
        Assert.DoesNotContain(writes, w => PathIsSameOrAbove(w, ws.Project));
        Assert.Contains("SBX3013", policy.StandardError, StringComparison.Ordinal);
        Assert.Contains(writes, w => w.StartsWith(ws.Project + "/bin", StringComparison.Ordinal));
    }

    private static bool PathIsSameOrAbove(string path, string project) =>
        project == path || project.StartsWith(path + "/", StringComparison.Ordinal);

    private static List<string> Writes(string policyJson)
    {
        using var json = JsonDocument.Parse(policyJson);
        return [.. json.RootElement.GetProperty("paths").EnumerateArray()
            .Where(p => p.GetProperty("access").GetString() == "write")
            .Select(p => p.GetProperty("path").GetString()!)];
    }
}
