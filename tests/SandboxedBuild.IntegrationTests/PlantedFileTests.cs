using System.Diagnostics;
using SandboxedBuild.IntegrationTests.Infrastructure;
using SandboxedBuild.Errors;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// Files the tool reads back from places a sandbox writes — what a restore generates in obj/, the
/// answers of the evaluation sandbox, a solution — planted to make the tool print a secret, hang, or
/// crash. Each attack is checked on the host side (the command ends promptly, with the coded error,
/// and the bait never shows), and paired with the same project without the plant.
/// </summary>
[Collection(nameof(DotnetBuildTests))]
public sealed class PlantedFileTests
{
    private const int Prompt = 120;

    public enum Plant
    {
        LinkToSecret,
        LinkToDevZero,
        Fifo,
    }

    public static TheoryData<Identity, Plant> IdentitiesAndPlants()
    {
        var data = new TheoryData<Identity, Plant>();
        foreach (var id in Enum.GetValues<Identity>())
        {
            foreach (var plant in Enum.GetValues<Plant>())
            {
                data.Add(id, plant);
            }
        }

        return data;
    }

    [Fact]
    public void A_props_file_committed_as_a_link_within_the_repository_is_read_and_one_leading_out_is_SBX3018()
    {
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "hello");
        var shared = Path.Combine(ws.Project, "shared", "common.props");
        Directory.CreateDirectory(Path.GetDirectoryName(shared)!);
        var props = Path.Combine(ws.Project, "Directory.Build.props");
        // The workspace's own props (if any) become the shared file, so that the build sees the same.
        File.WriteAllText(shared, File.Exists(props) ? File.ReadAllText(props) : "<Project />\n");
        File.Delete(props);

        // Shared by a relative link inside the repository, as monorepos do: works.
        File.CreateSymbolicLink(props, "shared/common.props");
        var inside = Cli.Run(Identity.Current, ws, ["build"], timeoutSeconds: 600);
        Assert.True(inside.ExitCode == 0, inside.ToString());
        Assert.DoesNotContain("SBX3018", inside.StandardError, StringComparison.Ordinal);

        // The same link leading out of the repository, to a file holding a secret: refused, unread.
        var outside = Path.Combine(ws.Outside, "common.props");
        File.WriteAllText(outside, "<Project><!-- " + ws.Bait + " --></Project>\n");
        File.Delete(props);
        File.CreateSymbolicLink(props, outside);
        var r = Cli.Run(Identity.Current, ws, ["policy", "--step", "build"], timeoutSeconds: Prompt);
        Assert.True(r.ExitCode == 125, r.ToString());
        Assert.Contains("SBX3018", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(ws.Bait, r.StandardOutput + r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(IdentitiesAndPlants))]
    public void A_generated_props_file_that_is_a_link_or_fifo_is_SBX3018_promptly_and_never_read(Identity id, Plant plant)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "hello");
        var props = Path.Combine(ws.Project, "obj", "hello.csproj.nuget.g.props");
        Directory.CreateDirectory(Path.GetDirectoryName(props)!);
        switch (plant)
        {
            case Plant.LinkToSecret:
                File.CreateSymbolicLink(props, Path.Combine(ws.Home, ".ssh", "id_ed25519"));
                break;
            case Plant.LinkToDevZero:
                File.CreateSymbolicLink(props, "/dev/zero");
                break;
            case Plant.Fifo:
                var mkfifo = Cli.Exec("mkfifo", props);
                Assert.True(mkfifo.ExitCode == 0, mkfifo.ToString());
                break;
        }

        ws.FixOwnership();
        foreach (var args in new[] { new[] { "policy", "--step", "build", "--format", "json" }, ["trust"], ["build"] })
        {
            var clock = Stopwatch.StartNew();
            var r = Cli.Run(id, ws, args, timeoutSeconds: Prompt);
            Assert.True(r.ExitCode == 125, $"{string.Join(' ', args)}: {r}");
            Assert.Contains("SBX3018", r.StandardError, StringComparison.Ordinal);
            Assert.Contains(props, r.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain(ws.Bait, r.StandardOutput + r.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"{string.Join(' ', args)} took {clock.Elapsed}");
        }

        // The same project with the file NuGet would write there.
        File.Delete(props);
        File.WriteAllText(props, "<Project />\n");
        ws.FixOwnership();
        var legit = Cli.Run(id, ws, ["policy", "--step", "build", "--format", "json"], timeoutSeconds: 300);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.DoesNotContain("SBX3018", legit.StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// The evaluation runs the repository's code (here through property functions, as a repository
    /// SDK from global.json sdk.paths would): it tries to replace its own answer files by links to a
    /// secret and to /dev/zero. The answers are files the tool created, each bound by itself, so
    /// the swap fails inside, and the tool, outside, reads only what it created.
    /// </summary>
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void The_evaluation_cannot_replace_its_answer_files_by_links(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "hello");
        var csproj = Path.Combine(ws.Project, "hello.csproj");
        var original = File.ReadAllText(csproj);
        var allFunctions = new Dictionary<string, string> { ["MSBUILDENABLEALLPROPERTYFUNCTIONS"] = "1" };
        var secret = Path.Combine(ws.Home, ".ssh", "id_ed25519");
        var attacks = new Dictionary<string, string>
        {
            // The error log becomes the secret, and the evaluation fails so that the tool shows the log.
            ["out"] = $"""
                <PropertyGroup>
                  <Swap>$([System.IO.File]::Delete('$(R)/0.out'))$([System.IO.File]::CreateSymbolicLink('$(R)/0.out', '{secret}'))</Swap>
                </PropertyGroup>
                <Import Project="missing-on-purpose.props" />
                """,
            // The answer becomes an endless device; renamed away first, as a variant of the removal.
            ["json"] = """
                <PropertyGroup>
                  <Swap>$([System.IO.File]::Move('$(R)/0.json', '$(R)/gone.json'))$([System.IO.File]::CreateSymbolicLink('$(R)/0.json', '/dev/zero'))</Swap>
                </PropertyGroup>
                """,
        };

        foreach (var (target, attack) in attacks)
        {
            File.WriteAllText(csproj, original.Replace("</Project>", attack + "\n</Project>", StringComparison.Ordinal));
            ws.FixOwnership();
            var clock = Stopwatch.StartNew();
            var r = Cli.Run(id, ws, ["policy", "--step", "build", "--no-cache"], extraEnv: allFunctions, timeoutSeconds: Prompt);
            Assert.True(r.ExitCode == 125, $"{target}: {r}");
            Assert.Contains("SBX3011", r.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain(ws.Bait, r.StandardOutput + r.StandardError, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"{target}: took {clock.Elapsed}");
            // One line of the evaluation's output at most, and the swap failed inside the sandbox.
            Assert.True(r.StandardError.Split('\n').Count(l => l.Contains("SBX3011", StringComparison.Ordinal)) == 1, r.ToString());
            Assert.Contains("busy", r.StandardError, StringComparison.OrdinalIgnoreCase);
        }

        // The same project, property functions and all, without the swap.
        File.WriteAllText(csproj, original.Replace("</Project>", "<PropertyGroup><Probe>$([System.IO.File]::Exists('$(R)/0.out'))</Probe></PropertyGroup>\n</Project>", StringComparison.Ordinal));
        ws.FixOwnership();
        var legit = Cli.Run(id, ws, ["policy", "--step", "build", "--no-cache"], extraEnv: allFunctions, timeoutSeconds: 300);
        Assert.True(legit.ExitCode == 0, legit.ToString());
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_slnx_with_a_dtd_is_SBX3019_with_its_line_not_a_stack_trace(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "hello");
        var slnx = Path.Combine(ws.Project, "hello.slnx");
        File.WriteAllText(slnx, $"""
            <?xml version="1.0"?>
            <!DOCTYPE Solution [<!ENTITY leak SYSTEM "file://{ws.Home}/.ssh/id_ed25519"><!ENTITY a "aaaaaaaaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
            <Solution><Project Path="&leak;&b;.csproj" /></Solution>
            """);
        ws.FixOwnership();

        var r = Cli.Run(id, ws, ["policy", "--step", "build"], timeoutSeconds: Prompt);
        Assert.True(r.ExitCode == 125, r.ToString());
        Assert.Contains("SBX3019", r.StandardError, StringComparison.Ordinal);
        Assert.Contains(slnx + "' is not valid XML at line 2,", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(ws.Bait, r.StandardOutput + r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);

        // Malformed without a DTD: the line of the problem.
        File.WriteAllText(slnx, "<Solution>\n  <Project Path=\"hello.csproj\">\n</Solution>\n");
        var bad = Cli.Run(id, ws, ["policy", "--step", "build"], timeoutSeconds: Prompt);
        Assert.True(bad.ExitCode == 125, bad.ToString());
        Assert.Contains("SBX3019", bad.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", bad.StandardError, StringComparison.Ordinal);

        // The solution as dotnet writes it.
        File.WriteAllText(slnx, "<Solution>\n  <Project Path=\"hello.csproj\" />\n</Solution>\n");
        var legit = Cli.Run(id, ws, ["policy", "--step", "build", "--format", "json"], timeoutSeconds: 300);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.Contains(ws.Project + "/obj", legit.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>Not a file but the same rule: secrets in the caller's environment stay outside unless named (finding 5).</summary>
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Secret_names_and_secret_values_do_not_reach_the_sandbox_by_default(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var env = new Dictionary<string, string>
        {
            ["NUGET_PASS"] = ws.Bait,
            ["DOTNET_FEED_BEARER"] = ws.Bait,
            ["NUGET_FEED_PAT"] = ws.Bait,
            ["NUGET_FEED_URL"] = $"https://ci:{ws.Bait}@pkgs.example.com/v3/index.json",
            ["DOTNET_DB"] = $"Server=db;User Id=sa;Password={ws.Bait};",
            ["NUGET_SOURCE_URL"] = "https://pkgs.example.com/v3/index.json",
        };
        var r = Cli.Sh(id, ws, "env; echo ran", null, env);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("ran", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(ws.Bait, r.StandardOutput + r.StandardError, StringComparison.Ordinal);
        Assert.Contains("NUGET_SOURCE_URL=https://pkgs.example.com/v3/index.json", r.StandardOutput, StringComparison.Ordinal);

        // Named explicitly, it passes with the existing warning.
        var named = Cli.Sh(id, ws, "printenv NUGET_PASS", null, env, "--env", "NUGET_PASS");
        Assert.True(named.ExitCode == 0, named.ToString());
        Assert.Contains(ws.Bait, named.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("SBX3004", named.StandardError, StringComparison.Ordinal);
    }
}
