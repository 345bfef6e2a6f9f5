using System.Text.Json;
using System.Text.RegularExpressions;
using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// dotnet sandbox restore | build | test | run | policy | trust on the real sample projects: real
/// MSBuild evaluation, real restores (nuget.org through the proxy, or a feed on loopback), real
/// builds and test runs, each step in its own sandbox.
/// </summary>
[Collection(nameof(DotnetBuildTests))]
public sealed partial class ProjectWorkflowTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Test_of_an_xunit_project_passes_and_writes_only_its_outputs(Identity id)
    {
        Cli.SkipIfRedundant(id);
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "xunit-vstest");
        var sources = Assets.Files(ws.Project, ".git");

        var r = Cli.Run(id, ws, ["test"], timeoutSeconds: 600);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Passed!  - Failed:     0, Passed:     3", r.StandardOutput, StringComparison.Ordinal);
        Assert.Matches(@"dotnet-sandbox: restore: dotnet restore \S+xunit-vstest\.csproj .*network: api\.nuget\.org", r.StandardError);
        Assert.Matches(@"dotnet-sandbox: build: dotnet build \S+ --no-restore .*no network", r.StandardError);
        Assert.Matches(@"dotnet-sandbox: test: dotnet test \S+ --no-build .*no network", r.StandardError);
        Assert.True(File.Exists(Path.Combine(ws.Project, "bin", "Debug", "net10.0", "xunit-vstest.dll")));
        Assert.True(Directory.Exists(Path.Combine(ws.Packages, "xunit.core", "2.9.3")), "the restore adds packages to the shared folder");
        Assert.Equal("original", File.ReadAllText(Path.Combine(ws.Packages, "bait.package", "1.0.0", "lib.txt")));

        // Outside obj/, bin/ and TestResults/ nothing in the project changed.
        Assert.Equal(sources, Assets.Files(ws.Project, ".git", "obj", "bin", "TestResults"));

        // Warm: restore is a no-op and is skipped; the outcome is the same.
        var again = Cli.Run(id, ws, ["test"], timeoutSeconds: 600);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("dotnet-sandbox: restore: up to date, skipped", again.StandardError, StringComparison.Ordinal);
        Assert.Contains("Passed!", again.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Tests_see_the_CI_and_environment_markers_the_run_names_once_the_variables_it_left_out_and_closes_with_what_it_refused()
    {
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "xunit-vstest");
        File.WriteAllText(Path.Combine(ws.Project, "EnvironmentSeen.cs"), """
            public class EnvironmentSeen
            {
                [Xunit.Fact]
                public void Markers_pass_and_other_variables_do_not()
                {
                    Xunit.Assert.Equal("True", System.Environment.GetEnvironmentVariable("TF_BUILD"));
                    Xunit.Assert.Equal("Staging", System.Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT"));
                    Xunit.Assert.Null(System.Environment.GetEnvironmentVariable("MY_SETTING"));
                    Xunit.Assert.Null(System.Environment.GetEnvironmentVariable("GITHUB_TOKEN"));
                }

                [Xunit.Fact]
                public async System.Threading.Tasks.Task A_host_not_allowed_is_refused()
                {
                    using var client = new System.Net.Http.HttpClient();
                    await Xunit.Assert.ThrowsAnyAsync<System.Exception>(() => client.GetStringAsync("https://denied.invalid/"));
                }
            }
            """);
        var env = new Dictionary<string, string> { ["TF_BUILD"] = "True", ["ASPNETCORE_ENVIRONMENT"] = "Staging", ["MY_SETTING"] = "value-not-to-print" };

        // A host allowed for the tests gives the test step its proxy, which then refuses (and records) another.
        var r = Cli.Run(Identity.Current, ws, ["test", "--allow-host", "allowed.invalid", "--", "--filter", "FullyQualifiedName~EnvironmentSeen"], extraEnv: env, timeoutSeconds: 600);

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("dotnet-sandbox: build:", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("dotnet-sandbox: test:", r.StandardError, StringComparison.Ordinal);

        // Said once for the run (its steps each have the same environment), by name, never by value.
        var said = r.StandardError.Split('\n').Where(l => l.Contains("SBX3029", StringComparison.Ordinal)).ToList();
        Assert.Equal(["dotnet-sandbox: warning SBX3029: 1 of your environment variables is not passed into the sandbox: MY_SETTING."], said);
        Assert.DoesNotContain("value-not-to-print", r.StandardError + r.StandardOutput, StringComparison.Ordinal);

        // The closing line: every step and its time, and what was refused.
        var closing = r.StandardError.TrimEnd().Split('\n')[^1];
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(closing, @"^dotnet-sandbox: done in [0-9.]+ s: restore [0-9.]+ s, build [0-9.]+ s, test [0-9.]+ s; 1 destination blocked \(listed above\)$"), closing);
        Assert.Contains("blocked: denied.invalid:443", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_on_a_solution_names_its_projects_before_anything_is_built_and_run_of_a_project_leaves_stdout_to_the_app()
    {
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "multi");
        var before = Assets.Files(ws.Project);

        var r = Cli.Run(Identity.Current, ws, ["run"]);

        Assert.True(r.ExitCode == 125, r.ToString());
        Assert.Contains("dotnet-sandbox: SBX1020: 'multi.slnx' is a solution, and run starts one project; the solution holds 3 project(s): src/App/App.csproj, src/Lib/Lib.csproj, tests/Lib.Tests/Lib.Tests.csproj.", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("hint: name the project to run: dotnet sandbox run src/App/App.csproj", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("restore:", r.StandardError, StringComparison.Ordinal);
        Assert.Equal(before, Assets.Files(ws.Project));

        // The project the hint names runs, and stdout is the app's alone (dotnet sandbox run > out.json):
        // what the restore and the build print goes to stderr.
        var app = Cli.Run(Identity.Current, ws, ["run", "src/App/App.csproj"], timeoutSeconds: 600);
        Assert.True(app.ExitCode == 0, app.ToString());
        Assert.StartsWith("SBX-MULTI hello, sandbox, from Multi.Lib", app.StandardOutput, StringComparison.Ordinal);
        Assert.Single(app.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Restored ", app.StandardError, StringComparison.Ordinal);
        Assert.Contains("Build succeeded.", app.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_test_fails_the_run_with_its_own_status()
    {
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "xunit-vstest");
        File.WriteAllText(Path.Combine(ws.Project, "Failing.cs"), "public class Failing { [Xunit.Fact] public void Fails() => Xunit.Assert.Fail(\"on purpose\"); }\n");
        var r = Cli.Run(Identity.Current, ws, ["test", "--", "--filter", "FullyQualifiedName~Failing"], timeoutSeconds: 600);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("on purpose", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("--filter 'FullyQualifiedName~Failing'", r.StandardError, StringComparison.Ordinal);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(r.StandardError, @"dotnet-sandbox: failed in [0-9.]+ s: restore ([0-9.]+ s|skipped), build [0-9.]+ s, test [0-9.]+ s \(failed: exit 1\)\n"), r.StandardError);
    }

    [Fact]
    public void Allow_write_creates_a_missing_results_directory_below_the_project_and_refuses_one_elsewhere_before_any_step()
    {
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "xunit-vstest");
        var elsewhere = Path.Combine(ws.Outside, "missing", "tr");

        var refused = Cli.Run(Identity.Current, ws, ["test", "--allow-write", elsewhere, "--", "--results-directory", elsewhere]);
        Assert.Equal(125, refused.ExitCode);
        Assert.Contains($"SBX3001: --allow-write names '{elsewhere}', which does not exist.", refused.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("restore:", refused.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(ws.Outside, "missing")), "a refused path was created");

        var r = Cli.Run(Identity.Current, ws, ["test", "--allow-write", "artifacts/tr", "--", "--results-directory", "artifacts/tr", "--logger", "trx;LogFileName=run.trx"], timeoutSeconds: 600);
        Assert.True(r.ExitCode == 0, r.ToString());
        var trx = Path.Combine(ws.Project, "artifacts", "tr", "run.trx");
        Assert.True(File.Exists(trx), "the results file is on the host: " + r);
        Assert.Contains("<TestRun", File.ReadAllText(trx), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Dotnet_options_reach_the_steps_plain_dotnet_gives_them_and_the_evaluation_builds_with_the_same_properties(Identity id)
    {
        Cli.SkipIfRedundant(id);
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "xunit-vstest");

        // The output goes where a property says: only an evaluation with that property makes it writable.
        File.WriteAllText(Path.Combine(ws.Project, "Directory.Build.props"), """
            <Project>
              <PropertyGroup Condition="'$(SbxOut)' != ''">
                <BaseOutputPath>$(MSBuildThisFileDirectory)$(SbxOut)/</BaseOutputPath>
              </PropertyGroup>
            </Project>
            """);
        ws.FixOwnership();

        var r = Cli.Run(id, ws, ["test", "-p:SbxOut=custom-bin", "-c", "Release", "-v", "q", "--filter", "FullyQualifiedName~Arithmetic", "--results-directory", "artifacts/tr", "--logger", "trx;LogFileName=r.trx"], timeoutSeconds: 600);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Matches(@"restore: dotnet restore \S+ --property:SbxOut=custom-bin --property:Configuration=Release --verbosity q --nologo  \(", r.StandardError);
        Assert.Matches(@"build: dotnet build \S+ --property:SbxOut=custom-bin --configuration Release --verbosity q --no-restore  \(", r.StandardError);
        Assert.Matches(@"test: dotnet test \S+ --property:SbxOut=custom-bin --configuration Release --verbosity q --filter 'FullyQualifiedName~Arithmetic' --results-directory artifacts/tr --logger 'trx;LogFileName=r.trx' --no-build  \(", r.StandardError);
        Assert.True(File.Exists(Path.Combine(ws.Project, "custom-bin", "Release", "net10.0", "xunit-vstest.dll")), "the build wrote where the property says");
        Assert.False(Directory.Exists(Path.Combine(ws.Project, "bin")));
        Assert.Contains("Passed:     1", r.StandardOutput, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(ws.Project, "artifacts", "tr", "r.trx")), "the results directory was made writable and created");

        // A second run with other properties keeps its own cached inference; the first one's is still good.
        var other = Cli.Run(id, ws, ["build", "-p:SbxOut=other-bin"], timeoutSeconds: 600);
        Assert.True(other.ExitCode == 0, other.ToString());
        Assert.True(File.Exists(Path.Combine(ws.Project, "other-bin", "Debug", "net10.0", "xunit-vstest.dll")), other.ToString());
        foreach (var output in new[] { "custom-bin", "other-bin" })
        {
            Assert.True(Cli.Run(id, ws, ["policy", "-p:SbxOut=" + output, "--step", "build"]).ExitCode == 0);
        }

        var again = Cli.Run(id, ws, ["policy", "-p:SbxOut=custom-bin", "--step", "build"]);
        Assert.Contains("(cached)", again.StandardError, StringComparison.Ordinal);
        Assert.Contains(ws.Project + "/custom-bin", again.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(ws.Project + "/other-bin", again.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void A_logger_file_named_by_absolute_path_is_written_there_or_refused_before_anything_runs()
    {
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "xunit-vstest");

        // The shared /tmp would be the sandbox's private one: the file would be reported, then gone.
        var refused = Cli.Run(Identity.Current, ws, ["test", "--logger", "trx;LogFileName=/tmp/sbx-lost.trx"]);
        Assert.Equal(125, refused.ExitCode);
        Assert.Contains("SBX3002: refusing --logger '/tmp'", refused.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("restore:", refused.StandardError, StringComparison.Ordinal);

        var trx = Path.Combine(ws.Outside, "results", "run.trx");
        Directory.CreateDirectory(Path.GetDirectoryName(trx)!);
        ws.FixOwnership();
        var r = Cli.Run(Identity.Current, ws, ["test", "--logger", $"trx;LogFileName={trx}"], timeoutSeconds: 600);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.True(File.Exists(trx), "the results file is where the logger was told to write it: " + r);
        Assert.Contains("<TestRun", File.ReadAllText(trx), StringComparison.Ordinal);
    }

    [Fact]
    public void Microsoft_Testing_Platform_tests_pass()
    {
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "mtp-tests");
        var r = Cli.Run(Identity.Current, ws, ["test"], timeoutSeconds: 600);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("succeeded: 3", r.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void A_solution_with_artifacts_output_builds_tests_and_runs_with_paths_from_msbuild()
    {
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "multi");

        var policy = Cli.Run(Identity.Current, ws, ["policy", "multi.slnx", "--step", "build", "--format", "json"]);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        using var json = JsonDocument.Parse(policy.StandardOutput);
        Assert.Equal("build", json.RootElement.GetProperty("step").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("pendingWidenings").GetArrayLength());
        var writes = json.RootElement.GetProperty("paths").EnumerateArray()
            .Where(p => p.GetProperty("access").GetString() == "write")
            .ToDictionary(p => p.GetProperty("path").GetString()!, p => p.GetProperty("reason").GetString()!);
        var artifacts = Path.Combine(ws.Project, "artifacts");
        foreach (var project in new[] { "Multi.App", "Multi.Lib", "Multi.Lib.Tests" })
        {
            Assert.Contains(writes, w => w.Key.StartsWith(artifacts + "/obj/", StringComparison.Ordinal) && w.Value.Contains("BaseIntermediateOutputPath", StringComparison.Ordinal));
        }

        Assert.All(writes.Keys.Where(k => !k.EndsWith("/.git", StringComparison.Ordinal)), w => Assert.StartsWith(artifacts + "/", w, StringComparison.Ordinal));
        Assert.DoesNotContain(writes.Keys, w => w == ws.Project);

        var test = Cli.Run(Identity.Current, ws, ["test", "multi.slnx"], timeoutSeconds: 600);
        Assert.True(test.ExitCode == 0, test.ToString());
        Assert.Contains("Passed!", test.StandardOutput, StringComparison.Ordinal);

        var run = Cli.Run(Identity.Current, ws, ["run", "src/App/App.csproj", "--no-build"], timeoutSeconds: 300);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("SBX-MULTI hello, sandbox, from Multi.Lib", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Exfiltration_from_build_and_tests_is_blocked_while_legitimate_tests_pass()
    {
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "exfiltrate");
        File.WriteAllText(Path.Combine(ws.Home, ".ssh", "id_sbx_bait"), ws.Bait + "\n");
        var packagesBefore = Assets.Files(ws.Packages);

        var r = Cli.Run(Identity.Current, ws, ["test", "--setenv", "SBX_EXFILTRATE_ARMED=1", "--", "--logger", "console;verbosity=detailed"], timeoutSeconds: 600);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Test Run Successful.", r.StandardOutput, StringComparison.Ordinal);
        Assert.Matches(@"Passed: +3", r.StandardOutput);

        var attempts = AttemptLine().Matches(r.StandardOutput).Select(m => (Name: m.Groups[1].Value, Outcome: m.Groups[2].Value, Detail: m.Groups[3].Value)).ToList();
        // write-outside aims at the project's parent, which lies in the private home here: the write
        // lands in the sandbox's own tmpfs and is gone at exit. What counts is the host, checked below.
        Assert.Contains("SBX-EXFILTRATE BEGIN build armed", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("SBX-EXFILTRATE BEGIN test armed", r.StandardOutput, StringComparison.Ordinal);
        Assert.True(attempts.Count(a => a.Name == "write-outside") >= 2, r.ToString());
        foreach (var name in new[] { "read-key", "write-git-hook", "connect-denied-host", "connect-direct", "write-packages" })
        {
            // In the build step and in the test step (whose detailed log repeats it); every one refused.
            var outcomes = attempts.Where(a => a.Name == name).ToList();
            Assert.True(outcomes.Count >= 2, $"{name}: {outcomes.Count} lines\n{r}");
            Assert.All(outcomes, a => Assert.True(a.Outcome == "BLOCKED", $"{name} {a.Outcome} {a.Detail}"));
        }

        Assert.DoesNotContain(ws.Bait, r.StandardOutput + r.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(ws.Project)!, "exfiltrate-was-here.txt")));
        Assert.False(File.Exists(Path.Combine(ws.Project, ".git", "hooks", "pre-commit")));
        Assert.Equal(packagesBefore.Where(f => f.StartsWith("bait.package", StringComparison.Ordinal)), Assets.Files(ws.Packages).Where(f => f.StartsWith("bait.package", StringComparison.Ordinal)));
        Assert.False(File.Exists(Path.Combine(ws.Packages, "exfiltrate-was-here.txt")));
    }

    [Fact]
    public void Restore_can_add_packages_but_not_change_one_already_in_the_folder()
    {
        // A target that runs with the restore writes into the packages folder: adding is what a restore
        // does, changing a package already there is poisoning every later build that uses it.
        using var ws = new Workspace(Identity.Current);
        File.WriteAllText(Path.Combine(ws.Project, "poison.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
              </PropertyGroup>
              <Target Name="Poison" AfterTargets="Restore">
                <WriteLinesToFile File="$(NUGET_PACKAGES)/added-by-restore.txt" Lines="new" Overwrite="true" />
                <WriteLinesToFile File="$(NUGET_PACKAGES)/bait.package/1.0.0/lib.txt" Lines="poisoned" Overwrite="true" ContinueOnError="true" />
              </Target>
            </Project>
            """);
        File.WriteAllText(Path.Combine(ws.Project, "NuGet.config"), "<configuration><packageSources><clear /></packageSources></configuration>\n");
        File.Copy(Path.Combine(Cli.TestAssets, "Directory.Build.props"), Path.Combine(ws.Project, "Directory.Build.props"));
        Cli.Exec("git", "init", "-q", ws.Project);
        ws.FixOwnership();

        var r = Cli.Run(Identity.Current, ws, ["restore"], timeoutSeconds: 300);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Read-only file system", r.StandardOutput, StringComparison.Ordinal);
        Assert.Equal("original", File.ReadAllText(Path.Combine(ws.Packages, "bait.package", "1.0.0", "lib.txt")));
        Assert.Equal("new", File.ReadAllText(Path.Combine(ws.Packages, "added-by-restore.txt")).Trim());
    }

    [Fact]
    public async Task After_a_sandboxed_restore_a_plain_build_finds_the_restore_up_to_date()
    {
        // The restore records how it spelled the packages folder (obj/*.dgspec.json); spelled otherwise
        // than a plain restore would ("/home/u/.nuget/packages" for "…/packages/"), a plain build restores again.
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "hello");
        var restore = Cli.Run(Identity.Current, ws, ["restore"], timeoutSeconds: 300);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        var assets = Path.Combine(ws.Project, "obj", "project.assets.json");
        var restoredAt = File.GetLastWriteTimeUtc(assets);

        // Plain dotnet, outside any sandbox, in the same environment (the same HOME, so the same default packages folder).
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { WorkingDirectory = ws.Project, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("build");
        psi.ArgumentList.Add("-nologo");
        psi.ArgumentList.Add("-v:n");
        psi.Environment.Clear();
        foreach (var (name, value) in ws.Environment())
        {
            psi.Environment[name] = value;
        }

        using var plain = System.Diagnostics.Process.Start(psi)!;
        var stderr = plain.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stdout = await plain.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await plain.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(plain.ExitCode == 0, stdout + await stderr);
        Assert.Contains("All projects are up-to-date for restore.", stdout, StringComparison.Ordinal);
        Assert.Equal(restoredAt, File.GetLastWriteTimeUtc(assets));
    }

    [Fact]
    public void A_private_feed_in_the_repository_config_is_reached_only_after_trust()
    {
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "private-feed");
        var feedDir = Path.Combine(ws.Root, "feed");
        var pack = Cli.Exec("dotnet", "pack", Path.Combine(ws.Project, "package", "Sbx.PrivateSample.csproj"), "-o", feedDir, "-nologo", "-v:q");
        Assert.True(pack.ExitCode == 0, pack.ToString());
        using var feed = new LoopbackNuGetFeed(feedDir);
        var config = Path.Combine(ws.Project, "NuGet.config");
        File.WriteAllText(config, File.ReadAllText(config).Replace("127.0.0.1:48213", $"127.0.0.1:{feed.Port}", StringComparison.Ordinal));
        Directory.Delete(Path.Combine(ws.Project, "package", "obj"), recursive: true);
        Directory.Delete(Path.Combine(ws.Project, "package", "bin"), recursive: true);

        var before = Cli.Run(Identity.Current, ws, ["restore"], timeoutSeconds: 300);
        Assert.NotEqual(0, before.ExitCode);
        Assert.Contains("SBX3012", before.StandardError, StringComparison.Ordinal);
        Assert.Contains($"reach 127.0.0.1:{feed.Port} (restore) — source 'local' in {config}", before.StandardError, StringComparison.Ordinal);
        Assert.Empty(feed.Requests);

        var list = Cli.Run(Identity.Current, ws, ["trust"]);
        Assert.Equal(1, list.ExitCode); // no terminal: lists, approves nothing
        Assert.Contains("[pending ]", list.StandardOutput, StringComparison.Ordinal);
        var trust = Cli.Run(Identity.Current, ws, ["trust", "--yes"]);
        Assert.True(trust.ExitCode == 0, trust.ToString());
        Assert.True(File.Exists(Path.Combine(ws.Home, ".config", "dotnet-sandbox", "trusted.json")));

        var run = Cli.Run(Identity.Current, ws, ["run"], timeoutSeconds: 300);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("SBX-PRIVATE-FEED Sbx.PrivateSample 1.0.0 from the private feed", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("/v3-flatcontainer/sbx.privatesample/1.0.0/sbx.privatesample.1.0.0.nupkg", feed.Requests);
    }

    [Fact]
    public void Policy_prints_every_format_and_the_reasons()
    {
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "hello");
        var text = Cli.Run(Identity.Current, ws, ["policy", "--step", "build"]);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("step: build — dotnet build", text.StandardOutput, StringComparison.Ordinal);
        Assert.Matches(@"write\s+\S+/obj\s+— intermediate build output: BaseIntermediateOutputPath of hello\.csproj", text.StandardOutput);
        Assert.Matches(@"read\s+\S+/app\s+— the repository: sources and project files, read-only", text.StandardOutput);
        Assert.Contains("network: no network", text.StandardOutput, StringComparison.Ordinal);

        var bwrap = Cli.Run(Identity.Current, ws, ["policy", "--step", "restore", "--format", "bwrap"]);
        Assert.Contains("--unshare-net", bwrap.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"--bind {ws.Project}/obj {ws.Project}/obj", bwrap.StandardOutput, StringComparison.Ordinal);
        var seatbelt = Cli.Run(Identity.Current, ws, ["policy", "--format", "seatbelt"]);
        Assert.Contains("(version 1)", seatbelt.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("(deny default)", seatbelt.StandardOutput, StringComparison.Ordinal);

        var warm = Cli.Run(Identity.Current, ws, ["policy"]);
        Assert.Contains("(cached)", warm.StandardError, StringComparison.Ordinal);

        var badStep = Cli.Run(Identity.Current, ws, ["policy", "--step", "deploy"]);
        Assert.Equal(125, badStep.ExitCode);
        Assert.Contains("SBX1007", badStep.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Project_commands_without_a_project_fail_with_a_code_and_a_hint()
    {
        using var ws = new Workspace(Identity.Current);
        File.Delete(Path.Combine(ws.Project, "Program.cs"));
        var r = Cli.Run(Identity.Current, ws, ["build"]);
        Assert.Equal(125, r.ExitCode);
        Assert.Contains("SBX1010", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("hint:", r.StandardError, StringComparison.Ordinal);

        var two = Cli.Run(Identity.Current, ws, ["test", "a.csproj", "b.csproj"]);
        Assert.Equal(125, two.ExitCode);
        Assert.Contains("SBX1001", two.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void A_project_MSBuild_cannot_evaluate_stops_before_any_step_with_its_error()
    {
        using var ws = new Workspace(Identity.Current);
        File.WriteAllText(Path.Combine(ws.Project, "bad.csproj"), """<Project Sdk="Microsoft.NET.Sdk"><Import Project="missing.props" /></Project>""");
        var r = Cli.Run(Identity.Current, ws, ["build"]);
        Assert.Equal(125, r.ExitCode);
        Assert.Contains("SBX3011", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("MSB4019", r.StandardError, StringComparison.Ordinal); // MSBuild's own reason, from inside the sandbox
        Assert.DoesNotContain("dotnet-sandbox: build:", r.StandardError, StringComparison.Ordinal);

        // dotnet refuses before MSBuild starts: its cause is on a later line, and the message has it.
        File.WriteAllText(Path.Combine(ws.Project, "bad.csproj"), """<Project Sdk="Microsoft.NET.Sdk" />""");
        File.WriteAllText(Path.Combine(ws.Project, "global.json"), """{ "sdk": { "version": "9.0.999" } }""");
        var sdk = Cli.Run(Identity.Current, ws, ["build"]);
        Assert.Equal(125, sdk.ExitCode);
        Assert.Contains("SBX3011", sdk.StandardError, StringComparison.Ordinal);
        Assert.Contains("Requested SDK version: 9.0.999", sdk.StandardError, StringComparison.Ordinal);
        Assert.Contains("global.json file: " + ws.Project + "/global.json", sdk.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void An_output_directory_that_cannot_be_created_is_a_coded_error()
    {
        // The tool creates obj/ and bin/ as the caller before binding them: a project directory the
        // caller may not write makes that fail. Root could write anyway, so run as a plain user.
        var id = Cli.IsRoot ? Identity.Unprivileged : Identity.Current;
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "hello");
        File.SetUnixFileMode(ws.Project, (UnixFileMode)Convert.ToInt32("555", 8));
        try
        {
            var r = Cli.Run(id, ws, ["build", "--no-restore"]);
            Assert.Equal(125, r.ExitCode);
            Assert.Contains("SBX3010: could not create the output directory", r.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            File.SetUnixFileMode(ws.Project, (UnixFileMode)Convert.ToInt32("755", 8));
        }
    }

    [GeneratedRegex(@"SBX-ATTEMPT (\S+) (BLOCKED|SUCCEEDED|SKIPPED) (.*)")]
    private static partial Regex AttemptLine();
}
