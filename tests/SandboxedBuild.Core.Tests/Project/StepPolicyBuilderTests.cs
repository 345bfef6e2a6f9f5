using System.Collections.Immutable;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;
using SandboxedBuild.Inference;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests.Project;

/// <summary>Each step's policy from a project model, on a real temporary tree (packages are enumerated from disk).</summary>
public sealed class StepPolicyBuilderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sbx-steps-").FullName;

    public StepPolicyBuilderTests()
    {
        Directory.CreateDirectory(Repo + "/.git");
        Directory.CreateDirectory(Repo + "/src/App");
        Directory.CreateDirectory(Packages + "/xunit/2.9.3");
        Directory.CreateDirectory(Packages + "/newtonsoft.json/13.0.3");
        Directory.CreateDirectory(Home + "/.ssh");
    }

    private string Home => _root + "/home";

    private string Repo => _root + "/home/src/repo";

    private string Packages => _root + "/home/.nuget/packages";

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private HostFacts Host() => new(Home, Repo, new Dictionary<string, string> { ["HOME"] = Home, ["PATH"] = "/usr/bin:/bin" }, HostFileSystem.Instance);

    private ConfigOrigin UserConfig => new(ConfigOriginKind.UserConfig, Home + "/.nuget/NuGet/NuGet.Config");

    private ProjectModel Model(ProjectEvaluation? app = null, params NuGetSource[] sources)
    {
        var nuget = new NuGetSettingsSnapshot(Packages, ConfigOrigin.Default with { Name = "~/.nuget/packages" }, Home + "/.local/share/NuGet/http-cache", [],
            [new NuGetSource("nuget.org", "https://api.nuget.org/v3/index.json", UserConfig, false), .. sources], [], Home + "/.nuget/NuGet/NuGet.Config");
        return new ProjectModel(Repo + "/App.sln", Repo, [app ?? App()], nuget, ImmutableDictionary<string, ImmutableArray<string>>.Empty, false, TimeSpan.Zero);
    }

    private ProjectEvaluation App(string? outputPath = null, bool test = true, params string[] hosts) => new(
        Repo + "/src/App/App.csproj",
        [new SourcedPath(Repo + "/src/App/obj", "BaseIntermediateOutputPath")],
        [new SourcedPath(Repo + "/src/App/bin", "BaseOutputPath"), .. outputPath is null ? Array.Empty<SourcedPath>() : [new SourcedPath(outputPath, "OutputPath")]],
        null, null, [], [], test, null, [], [.. hosts]);

    [Fact]
    public void Folders_a_project_names_for_reading_need_approval_and_homes_are_refused()
    {
        var bait = Directory.CreateDirectory(_root + "/elsewhere/bait").FullName;
        var model = Model(App() with { FallbackFolders = [bait, Home], RestorePackagesPath = bait });
        var warnings = new List<Diagnostic>();
        foreach (var step in Enum.GetValues<WorkflowStep>())
        {
            var plan = Plan(step, model, warnings: warnings);
            Assert.False(plan.Policy.IsVisible(bait + "/secret.txt"), step.ToString());
            Assert.False(plan.Policy.IsVisible(Home + "/.ssh/id_ed25519"), step.ToString());
            Assert.Contains(plan.Pending, w => w.Value == bait);
        }

        Assert.Contains(warnings, w => w.ToString().Contains("SBX3013", StringComparison.Ordinal) && w.ToString().Contains(Home, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(".git/hooks")]
    [InlineData(".vscode")]
    [InlineData("src/.husky/out")]
    [InlineData(".envrc")]
    public void Output_and_packages_folders_inside_protected_locations_are_refused(string relative)
    {
        var path = Repo + "/" + relative;
        var warnings = new List<Diagnostic>();
        var build = Plan(WorkflowStep.Build, Model(App(outputPath: path)), warnings: warnings);
        Assert.NotEqual(PathAccess.ReadWrite, build.Policy.RuleFor(path + "/x")!.Access);
        var restore = Plan(WorkflowStep.Restore, Model(App() with { RestorePackagesPath = path }), warnings: warnings);
        Assert.NotEqual(PathAccess.ReadWrite, restore.Policy.RuleFor(path + "/x")!.Access);
        Assert.Equal(2, warnings.Count(w => w.ToString().Contains("SBX3013", StringComparison.Ordinal)));
    }

    [Fact]
    public void Fallback_folders_of_your_own_configuration_are_trusted_those_a_repository_names_are_not()
    {
        var fallback = Directory.CreateDirectory(_root + "/fallback").FullName;
        var model = Model();
        var own = model with { NuGet = model.NuGet with { FallbackFolders = [new NuGetFolder(fallback, UserConfig with { Name = "fallbackPackageFolders" })] } };
        var plan = Plan(WorkflowStep.Build, own);
        Assert.Equal(PathAccess.ReadOnly, plan.Policy.RuleFor(fallback + "/xunit/2.9.3/x.dll")!.Access);
        Assert.Empty(plan.Pending);

        var repoConfig = Repo + "/NuGet.config";
        var named = model with { NuGet = model.NuGet with { FallbackFolders = [new NuGetFolder(fallback, new ConfigOrigin(ConfigOriginKind.ProjectConfig, repoConfig, "fallbackPackageFolders"))], ConfigFiles = [repoConfig] } };
        plan = Plan(WorkflowStep.Build, named);
        Assert.NotEqual(PathAccess.ReadOnly, plan.Policy.RuleFor(fallback + "/xunit/2.9.3/x.dll")?.Access);
        Assert.Contains(plan.Pending, w => w.Kind == WideningKind.Read && w.Value == fallback);
    }

    [Fact]
    public void A_source_with_credentials_is_said_to_keep_them_outside()
    {
        var warnings = new List<Diagnostic>();
        var secret = new NuGetSource("internal", "https://pkgs.example.org/v3/index.json", UserConfig, HasCredentials: true);
        Plan(WorkflowStep.Restore, Model(null, secret), warnings: warnings);
        Assert.Contains(warnings, w => w.ToString().StartsWith("warning SBX3014: package source 'internal' has credentials", StringComparison.Ordinal));
        warnings.Clear();
        Plan(WorkflowStep.Build, Model(null, secret), warnings: warnings);
        Assert.DoesNotContain(warnings, w => w.ToString().Contains("SBX3014", StringComparison.Ordinal)); // only the restore reaches feeds
    }

    [Fact]
    public void A_malformed_allowed_host_is_reported_not_offered_for_approval()
    {
        var warnings = new List<Diagnostic>();
        var plan = Plan(WorkflowStep.Test, Model(App(hosts: "not a host")), warnings: warnings);
        Assert.Empty(plan.Pending);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3013", StringComparison.Ordinal) && w.ToString().Contains("not a host pattern", StringComparison.Ordinal));
    }

    private StepPlan Plan(WorkflowStep step, ProjectModel? model = null, TrustStore? trust = null, List<Diagnostic>? warnings = null, ExecOptions? options = null) =>
        StepPolicyBuilder.Build(Host(), model ?? Model(), step, options ?? new ExecOptions(), trust ?? TrustStore.Load(_root + "/trusted.json"), warnings ?? []);

    [Fact]
    public void Restore_writes_obj_and_the_packages_folder_but_not_packages_already_there_nor_bin()
    {
        var policy = Plan(WorkflowStep.Restore).Policy;
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(Repo + "/src/App/obj/project.assets.json")!.Access);
        Assert.Equal(PathAccess.ReadOnly, policy.RuleFor(Repo + "/src/App/bin/App.dll")!.Access);
        Assert.Equal(PathAccess.ReadOnly, policy.RuleFor(Repo + "/src/App/Program.cs")!.Access);
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(Packages + "/humanizer/2.14.1/lib.dll")!.Access);
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(Packages + "/xunit/2.9.4/xunit.nuspec")!.Access); // a new version of a known id
        Assert.Equal(PathAccess.ReadOnly, policy.RuleFor(Packages + "/xunit/2.9.3/xunit.nuspec")!.Access);
        Assert.Equal(NetworkMode.Filtered, policy.Network.Mode);
        Assert.Contains(policy.Network.Allow, h => h.Host == "api.nuget.org");
        Assert.False(policy.IsVisible(Home + "/.ssh/id_ed25519"));
        Assert.Contains("BaseIntermediateOutputPath of src/App/App.csproj", policy.RuleFor(Repo + "/src/App/obj")!.Reason(), StringComparison.Ordinal);
        Assert.Equal(new Origin(OriginKind.ProjectProperty, "BaseIntermediateOutputPath", "src/App/App.csproj"), policy.RuleFor(Repo + "/src/App/obj")!.Origin);
    }

    [Fact]
    public void Build_is_offline_and_writes_obj_and_bin_only()
    {
        var policy = Plan(WorkflowStep.Build).Policy;
        Assert.Equal(NetworkMode.None, policy.Network.Mode);
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(Repo + "/src/App/obj/Debug/App.dll")!.Access);
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(Repo + "/src/App/bin/Debug/App.dll")!.Access);
        Assert.Equal(PathAccess.ReadOnly, policy.RuleFor(Repo + "/src/App/App.csproj")!.Access);
        Assert.Equal(PathAccess.ReadOnly, policy.RuleFor(Packages + "/humanizer/2.14.1/lib.dll")!.Access);
        Assert.True(policy.RuleFor(Repo + "/src/App/bin")!.CreateIfMissing);
        Assert.Equal(PathAccess.Protected, policy.RuleFor(Repo + "/src/App/bin/.git")!.Access); // no fake repository in an output folder
    }

    [Fact]
    public void Test_writes_bin_and_test_results_not_obj_and_is_offline_by_default()
    {
        var policy = Plan(WorkflowStep.Test).Policy;
        Assert.Equal(NetworkMode.None, policy.Network.Mode);
        Assert.Equal(PathAccess.ReadOnly, policy.RuleFor(Repo + "/src/App/obj/project.assets.json")!.Access);
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(Repo + "/src/App/bin/Debug/x.txt")!.Access);
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(Repo + "/src/App/TestResults/r.trx")!.Access);
        Assert.Equal(PathAccess.Scratch, policy.RuleFor("/tmp/x")!.Access);
    }

    [Fact]
    public void A_host_the_project_asks_for_waits_for_approval_then_applies_to_test_and_run_only()
    {
        var model = Model(App(hosts: "localhost:5432"));
        var trust = TrustStore.Load(_root + "/trusted.json");
        var before = Plan(WorkflowStep.Test, model, trust);
        Assert.Equal(NetworkMode.None, before.Policy.Network.Mode);
        var pending = Assert.Single(before.Pending);
        Assert.Equal("localhost:5432", pending.Value);
        Assert.Contains("SandboxAllowedHost in src/App/App.csproj", pending.Origin, StringComparison.Ordinal);

        trust.Approve(model.Entry, [pending]);
        var after = Plan(WorkflowStep.Test, model, trust);
        Assert.Empty(after.Pending);
        Assert.Equal(NetworkMode.Filtered, after.Policy.Network.Mode);
        Assert.Equal(["localhost:5432"], after.Policy.Network.Allow.Select(h => h.ToString()));
        Assert.Equal(NetworkMode.None, Plan(WorkflowStep.Build, model, trust).Policy.Network.Mode);
    }

    [Fact]
    public void A_feed_in_the_repository_config_waits_for_approval_a_feed_in_the_user_config_does_not()
    {
        var repoFeed = new NuGetSource("internal", "https://pkgs.example.com/v3/index.json", new ConfigOrigin(ConfigOriginKind.ProjectConfig, Repo + "/NuGet.config"), false);
        var userFeed = new NuGetSource("team", "https://team.example.org:8443/index.json", UserConfig, false);
        var plan = Plan(WorkflowStep.Restore, Model(null, repoFeed, userFeed));
        Assert.DoesNotContain(plan.Policy.Network.Allow, h => h.Host == "pkgs.example.com");
        Assert.Contains(plan.Policy.Network.Allow, h => h.Host == "team.example.org" && h.Port == 8443);
        var pending = Assert.Single(plan.Pending);
        Assert.Equal(WideningKind.Host, pending.Kind);
        Assert.Equal("pkgs.example.com", pending.Value);
    }

    [Fact]
    public void Output_paths_outside_the_repository_wait_for_approval_and_homes_are_refused_outright()
    {
        var outside = _root + "/build-out";
        var warnings = new List<Diagnostic>();
        var plan = Plan(WorkflowStep.Build, Model(App(outputPath: outside)), warnings: warnings);
        Assert.NotEqual(PathAccess.ReadWrite, plan.Policy.RuleFor(outside + "/App.dll")?.Access); // at most the private /tmp the tests live in
        Assert.Equal(outside, Assert.Single(plan.Pending).Value);

        plan = Plan(WorkflowStep.Build, Model(App(outputPath: Home)), warnings: warnings);
        Assert.Equal(PathAccess.Scratch, plan.Policy.RuleFor(Home + "/.ssh/id_ed25519")!.Access);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3013", StringComparison.Ordinal) && w.ToString().Contains("your home directory", StringComparison.Ordinal));

        plan = Plan(WorkflowStep.Build, Model(App(outputPath: Repo + "/.git/hooks")), warnings: warnings);
        Assert.NotEqual(PathAccess.ReadWrite, plan.Policy.RuleFor(Repo + "/.git/hooks/pre-commit")!.Access);
    }

    [Fact]
    public void Command_line_hosts_open_the_network_of_test_but_never_of_build()
    {
        var options = new ExecOptions { AllowHosts = ["localhost:8080"], DenyHosts = ["example.com"] };
        Assert.Equal(NetworkMode.Filtered, Plan(WorkflowStep.Test, options: options).Policy.Network.Mode);
        Assert.Equal(NetworkMode.None, Plan(WorkflowStep.Build, options: options).Policy.Network.Mode);
        Assert.DoesNotContain(Plan(WorkflowStep.Test, options: options).Policy.Network.Allow, h => h.Host == "api.nuget.org");
    }
}
