using System.Collections.Immutable;
using SandboxedBuild.Policy;
using SandboxedBuild.Inference;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests.Project;

/// <summary>
/// Trust decisions about NuGet settings rest on where the reader found them (the origin kind), never
/// on the text of a reason: read a real tree, then build the restore step's policy from it.
/// </summary>
public sealed class NuGetProvenanceTests : IDisposable
{
    private readonly NuGetTree _tree = new();

    public void Dispose() => _tree.Dispose();

    private string Ssh => _tree.Dir("home/.ssh");

    [Fact]
    public void A_repository_config_in_a_path_with_a_space_is_the_projects_and_its_packages_folder_waits_for_approval()
    {
        _tree.EmptyUserConfig();
        var repo = _tree.Dir("my repos/app one");
        _tree.Dir("my repos/app one/.git");
        var config = _tree.Config("my repos/app one/NuGet.config", $"""<config><add key="globalPackagesFolder" value="{Ssh}" /></config>""");

        var nuget = _tree.Read("my repos/app one");

        Assert.Equal(Ssh, nuget.GlobalPackagesFolder);
        Assert.Equal(new ConfigOrigin(ConfigOriginKind.ProjectConfig, config, "globalPackagesFolder"), nuget.GlobalPackagesFolderOrigin);
        Assert.False(nuget.GlobalPackagesFolderOrigin.IsTrusted);
        var plan = Restore(repo, nuget);
        Assert.NotEqual(PathAccess.ReadWrite, plan.Policy.RuleFor(Ssh + "/authorized_keys")?.Access);
        Assert.DoesNotContain(plan.Policy.Paths, r => r.Path == Ssh);
        Assert.Contains(plan.Pending, w => w.Kind == WideningKind.Write && w.Value == Ssh);
        Assert.Empty(plan.WritablePackageFolders);
    }

    [Fact]
    public void The_users_config_in_a_home_with_a_space_is_trusted()
    {
        // The legitimate variant: a user config under a path with spaces binds its folder without asking.
        var home = _tree.Dir("home dir/dev");
        _tree.Environment["HOME"] = home;
        var packages = _tree.Dir("home dir/dev/my packages");
        var user = _tree.Config(Path.Combine(home, ".nuget/NuGet/NuGet.Config"), $"""<config><add key="globalPackagesFolder" value="{packages}" /></config>""");
        var repo = _tree.Dir("home dir/dev/src/app one");
        _tree.Dir("home dir/dev/src/app one/.git");

        var nuget = _tree.Read("home dir/dev/src/app one");

        Assert.Equal(new ConfigOrigin(ConfigOriginKind.UserConfig, user, "globalPackagesFolder"), nuget.GlobalPackagesFolderOrigin);
        var plan = Restore(repo, nuget, home);
        Assert.Equal(PathAccess.ReadWrite, plan.Policy.RuleFor(packages + "/newpkg/1.0.0/x.nupkg")!.Access);
        Assert.Equal([packages], plan.WritablePackageFolders);
        Assert.Empty(plan.Pending);
    }

    [Fact]
    public void A_config_above_the_repository_is_the_projects_for_every_setting_and_its_feeds_are_not_fetched()
    {
        _tree.EmptyUserConfig();
        var fallback = _tree.Dir("shared-fallback");
        var above = _tree.Config("ws/NuGet.config", $"""
            <config><add key="globalPackagesFolder" value="{Ssh}" /></config>
            <packageSources><add key="planted" value="http://127.0.0.1:5555/v3/index.json" /></packageSources>
            <fallbackPackageFolders><add key="f" value="{fallback}" /></fallbackPackageFolders>
            """);
        var repo = _tree.Dir("ws/repo");
        _tree.Dir("ws/repo/.git");

        var nuget = _tree.Read("ws/repo");

        Assert.Equal([above], nuget.ProjectConfigFiles);
        Assert.Equal(ConfigOriginKind.ProjectConfig, nuget.GlobalPackagesFolderOrigin.Kind);
        var planted = Assert.Single(nuget.Sources);
        Assert.Equal(new ConfigOrigin(ConfigOriginKind.ProjectConfig, above), planted.Origin);
        Assert.Equal(ConfigOriginKind.ProjectConfig, Assert.Single(nuget.FallbackFolders).Origin.Kind);
        Assert.Empty(ProjectInference.FeedsToResolve(nuget, _ => false));
        Assert.Equal([planted], ProjectInference.FeedsToResolve(nuget, s => s == planted)); // once approved

        var warnings = new List<Diagnostic>();
        var plan = Restore(repo, nuget, warnings: warnings);
        Assert.DoesNotContain(plan.Policy.Paths, r => r.Path == Ssh || r.Path == fallback);
        Assert.DoesNotContain(plan.Policy.Network.Allow, h => h.Host == "127.0.0.1");
        Assert.Contains(plan.Pending, w => w.Kind == WideningKind.Write && w.Value == Ssh);
        Assert.Contains(plan.Pending, w => w.Kind == WideningKind.Host && w.Value == "127.0.0.1:5555");
        Assert.Contains(plan.Pending, w => w.Kind == WideningKind.Read && w.Value == fallback);
        Assert.Contains(warnings, w => w.ToString().StartsWith($"warning SBX3022: '{above}' is a NuGet.config above the repository", StringComparison.Ordinal));

        // Approved, the feed is reached; the approval is the user's, outside the sandbox.
        var trust = TrustStore.Load(Path.Combine(_tree.Root, "trusted.json"));
        trust.Approve(repo + "/App.sln", plan.Pending.Where(w => w.Kind == WideningKind.Host));
        Assert.Contains(Restore(repo, nuget, trust: trust).Policy.Network.Allow, h => h.Host == "127.0.0.1" && h.Port == 5555);
    }

    [Fact]
    public void The_users_machines_and_defaults_files_are_trusted_and_their_feeds_fetched_without_asking()
    {
        _tree.Config(_tree.UserConfig, """<packageSources><add key="team" value="https://team.example.org/v3/index.json" /></packageSources>""");
        var extra = _tree.Config(Path.Combine(_tree.Home, ".nuget/NuGet/config/extra.config"), """<packageSources><add key="extra" value="https://extra.example.org/v3/index.json" /></packageSources>""");
        var machine = _tree.Config(Path.Combine(_tree.Machine, "NuGet/Config/corp.config"), """<packageSources><add key="corp" value="https://corp.example.org/v3/index.json" /></packageSources>""");
        var repo = _tree.Dir("repo");

        var nuget = _tree.Read("repo");

        Assert.Equal(
            [("team", ConfigOriginKind.UserConfig, _tree.UserConfig), ("extra", ConfigOriginKind.UserConfig, extra), ("corp", ConfigOriginKind.MachineConfig, machine)],
            nuget.Sources.Select(s => (s.Name, s.Origin.Kind, s.ConfigFile)));
        Assert.Equal(ConfigOriginKind.NuGetDefault, nuget.GlobalPackagesFolderOrigin.Kind);
        Assert.Equal(3, ProjectInference.FeedsToResolve(nuget, _ => false).Count);
        var plan = Restore(repo, nuget);
        Assert.Contains(plan.Policy.Network.Allow, h => h.Host == "team.example.org");
        Assert.Contains(plan.Policy.Network.Allow, h => h.Host == "corp.example.org");
        Assert.Empty(plan.Pending);
    }

    [Fact]
    public void NUGET_PACKAGES_of_the_caller_is_trusted_over_a_repository_config()
    {
        _tree.EmptyUserConfig();
        var repo = _tree.Dir("repo");
        _tree.Config("repo/NuGet.config", $"""<config><add key="globalPackagesFolder" value="{Ssh}" /></config>""");
        var packages = _tree.Dir("env-packages");
        _tree.Environment["NUGET_PACKAGES"] = packages;

        var nuget = _tree.Read("repo");

        Assert.Equal(new ConfigOrigin(ConfigOriginKind.Environment, null, "NUGET_PACKAGES"), nuget.GlobalPackagesFolderOrigin);
        var plan = Restore(repo, nuget);
        Assert.Equal(PathAccess.ReadWrite, plan.Policy.RuleFor(packages + "/x/1.0.0/x.nupkg")!.Access);
        Assert.Empty(plan.Pending);
    }

    [Fact]
    public void A_missing_user_config_is_read_as_the_users_default_and_a_project_inside_the_users_nuget_folder_is_still_the_projects()
    {
        var repo = _tree.Dir("repo");
        var nugetOrg = Assert.Single(_tree.Read("repo").Sources);
        Assert.Equal(new ConfigOrigin(ConfigOriginKind.UserConfig, _tree.UserConfig), nugetOrg.Origin);

        // The walk up from a project under ~/.nuget/NuGet finds the user's file too: found by the walk, it is the project's.
        _tree.Config(_tree.UserConfig, """<packageSources><add key="walked" value="https://walked.example.org/v3/index.json" /></packageSources>""");
        var inside = _tree.Dir("home/.nuget/NuGet/project");
        var walked = Assert.Single(NuGetSettingsReader.Read(inside, _tree.Environment).Sources, s => s.Name == "walked");
        Assert.Equal(ConfigOriginKind.ProjectConfig, walked.Origin.Kind);
        Assert.NotEmpty(repo);
    }

    private StepPlan Restore(string repo, NuGetSettingsSnapshot nuget, string? home = null, TrustStore? trust = null, List<Diagnostic>? warnings = null)
    {
        home ??= _tree.Home;
        var app = new ProjectEvaluation(repo + "/App.csproj", [new SourcedPath(repo + "/obj", "BaseIntermediateOutputPath")], [new SourcedPath(repo + "/bin", "BaseOutputPath")], null, null, [], [], false, null, [], []);
        var model = new ProjectModel(repo + "/App.sln", repo, [app], nuget, ImmutableDictionary<string, ImmutableArray<string>>.Empty, false, TimeSpan.Zero);
        var host = new HostFacts(home, repo, new Dictionary<string, string> { ["HOME"] = home, ["PATH"] = "/usr/bin:/bin" }, HostFileSystem.Instance);
        return StepPolicyBuilder.Build(host, model, WorkflowStep.Restore, new ExecOptions(), trust ?? TrustStore.Load(Path.Combine(_tree.Root, "none.json")), warnings ?? []);
    }
}
