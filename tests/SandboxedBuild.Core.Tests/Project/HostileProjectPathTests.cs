using System.Collections.Immutable;
using SandboxedBuild.Policy;
using SandboxedBuild.Inference;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests.Project;

/// <summary>Paths a hostile project names: links on the way, writes that are not output-like, links in the packages folder.</summary>
public sealed class HostileProjectPathTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sbx-hostile-").FullName;

    public HostileProjectPathTests()
    {
        Directory.CreateDirectory(Repo + "/.git");
        Directory.CreateDirectory(Repo + "/src/App");
        File.WriteAllText(Repo + "/src/App/App.csproj", "<Project />");
        Directory.CreateDirectory(Packages + "/xunit/2.9.3");
        Directory.CreateDirectory(Home + "/.ssh");
    }

    private string Home => _root + "/home";

    private string Repo => _root + "/home/src/repo";

    private string Packages => _root + "/home/.nuget/packages";

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private HostFacts Host() => new(Home, Repo, new Dictionary<string, string> { ["HOME"] = Home, ["PATH"] = "/usr/bin:/bin" }, HostFileSystem.Instance);

    private ConfigOrigin UserConfig => new(ConfigOriginKind.UserConfig, Home + "/.nuget/NuGet/NuGet.Config");

    private ProjectModel Model(ProjectEvaluation app)
    {
        var nuget = new NuGetSettingsSnapshot(Packages, ConfigOrigin.Default with { Name = "~/.nuget/packages" }, Home + "/.local/share/NuGet/http-cache", [],
            [new NuGetSource("nuget.org", "https://api.nuget.org/v3/index.json", UserConfig, false)], [], Home + "/.nuget/NuGet/NuGet.Config");
        return new ProjectModel(Repo + "/App.sln", Repo, [app], nuget, ImmutableDictionary<string, ImmutableArray<string>>.Empty, false, TimeSpan.Zero);
    }

    private ProjectEvaluation App(string? output = null, string? results = null) => new(
        Repo + "/src/App/App.csproj",
        [new SourcedPath(Repo + "/src/App/obj", "BaseIntermediateOutputPath")],
        [new SourcedPath(output ?? Repo + "/src/App/bin", "BaseOutputPath")],
        null, null, [], [], true, results, [], []);

    private StepPlan Plan(WorkflowStep step, ProjectEvaluation app, List<Diagnostic> warnings) =>
        StepPolicyBuilder.Build(Host(), Model(app), step, new ExecOptions(), TrustStore.Load(_root + "/trusted.json"), warnings);

    [Theory]
    [InlineData("..")]
    [InlineData("../../../..")]
    [InlineData(".git/hooks")]
    [InlineData("/etc")]
    public void An_output_path_through_a_link_in_the_repository_is_not_bound(string target)
    {
        File.CreateSymbolicLink(Repo + "/src/App/h", target);
        var warnings = new List<Diagnostic>();
        var plan = Plan(WorkflowStep.Build, App(output: Repo + "/src/App/h/"), warnings);
        Assert.DoesNotContain(plan.Policy.Paths, r => r.Path.StartsWith(Repo + "/src/App/h", StringComparison.Ordinal) && r.Access == PathAccess.ReadWrite);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3016", StringComparison.Ordinal) && w.ToString().Contains(Repo + "/src/App/h", StringComparison.Ordinal));
        Assert.Empty(plan.Pending);

        // obj/ is still writable: the rest of the step works.
        Assert.Equal(PathAccess.ReadWrite, plan.Policy.RuleFor(Repo + "/src/App/obj/x")!.Access);
    }

    [Fact]
    public void An_output_path_through_a_linked_parent_directory_is_not_bound()
    {
        Directory.CreateDirectory(_root + "/outside");
        File.CreateSymbolicLink(Repo + "/out", _root + "/outside");
        var warnings = new List<Diagnostic>();
        var plan = Plan(WorkflowStep.Build, App(output: Repo + "/out/bin/App"), warnings);
        Assert.False(plan.Policy.Paths.Any(r => r.Access == PathAccess.ReadWrite && r.Path.Contains("/out/", StringComparison.Ordinal)));
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3016", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{0}/src/App/..", "App.csproj")]
    [InlineData("{0}", "repository root")]
    [InlineData("{0}/src/App", "App.csproj")]
    [InlineData("{0}/src", "App.csproj")]
    public void A_results_directory_that_holds_sources_is_refused(string spelled, string why)
    {
        var results = Path.GetFullPath(string.Format(System.Globalization.CultureInfo.InvariantCulture, spelled, Repo));
        var warnings = new List<Diagnostic>();
        var plan = Plan(WorkflowStep.Test, App(results: results), warnings);
        Assert.NotEqual(PathAccess.ReadWrite, plan.Policy.RuleFor(Repo + "/Directory.Build.props")?.Access);
        Assert.NotEqual(PathAccess.ReadWrite, plan.Policy.RuleFor(Repo + "/src/App/Program.cs")?.Access);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3013", StringComparison.Ordinal) && w.ToString().Contains(why, StringComparison.Ordinal));
    }

    [Fact]
    public void A_results_directory_next_to_another_project_is_refused_but_a_plain_one_is_writable()
    {
        Directory.CreateDirectory(Repo + "/tools");
        File.WriteAllText(Repo + "/tools/Tool.fsproj", "<Project />");
        var warnings = new List<Diagnostic>();
        Assert.NotEqual(PathAccess.ReadWrite, Plan(WorkflowStep.Test, App(results: Repo + "/tools"), warnings).Policy.RuleFor(Repo + "/tools/Tool.fsproj")?.Access);
        Assert.Contains(warnings, w => w.ToString().Contains("Tool.fsproj", StringComparison.Ordinal));

        var legit = Plan(WorkflowStep.Test, App(results: Repo + "/artifacts/tr"), []);
        Assert.Equal(PathAccess.ReadWrite, legit.Policy.RuleFor(Repo + "/artifacts/tr/x.trx")!.Access);
    }

    [Theory]
    [InlineData("/home/someone-else/out")]
    [InlineData("/root/.ssh")]
    [InlineData("/home/someone-else")]
    public void A_directory_in_another_users_home_is_refused_not_offered_for_approval(string path)
    {
        var warnings = new List<Diagnostic>();
        var plan = Plan(WorkflowStep.Build, App(output: path), warnings);
        Assert.DoesNotContain(plan.Pending, w => w.Value == path);
        Assert.NotEqual(PathAccess.ReadWrite, plan.Policy.RuleFor(path + "/x")?.Access);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3013", StringComparison.Ordinal) && w.ToString().Contains(path, StringComparison.Ordinal));
    }

    [Fact]
    public void Links_in_the_packages_folder_are_never_bound_and_real_packages_are()
    {
        Directory.CreateDirectory(Packages + "/x");
        File.CreateSymbolicLink(Packages + "/x/1.0.0", "../../..");
        File.CreateSymbolicLink(Packages + "/y", Home);
        File.WriteAllText(Packages + "/x/2.0.0", "not a directory");
        var warnings = new List<Diagnostic>();
        var plan = Plan(WorkflowStep.Restore, App(), warnings);
        Assert.DoesNotContain(plan.Policy.Paths, r => r.Path == Packages + "/x/1.0.0" || r.Path == Packages + "/y" || r.Path.StartsWith(Packages + "/y/", StringComparison.Ordinal));
        Assert.Equal(PathAccess.ReadOnly, plan.Policy.RuleFor(Packages + "/xunit/2.9.3/xunit.nuspec")!.Access);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3023", StringComparison.Ordinal) && w.ToString().Contains(Packages + "/x/1.0.0", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3023", StringComparison.Ordinal) && w.ToString().Contains(Packages + "/y", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3023", StringComparison.Ordinal) && w.ToString().Contains("not a directory", StringComparison.Ordinal));
        Assert.Equal([Packages], plan.WritablePackageFolders);
    }

    [Fact]
    public void Links_a_restore_added_are_removed_and_earlier_ones_left()
    {
        Directory.CreateDirectory(Packages + "/old");
        File.CreateSymbolicLink(Packages + "/old/1.0.0", "/");
        var before = PackagesFolder.Links(Packages);
        Directory.CreateDirectory(Packages + "/z");
        File.CreateSymbolicLink(Packages + "/z/9.9.9", "../../..");
        File.CreateSymbolicLink(Packages + "/w", Home);
        var removed = PackagesFolder.RemoveAddedLinks(Packages, before);
        Assert.Equal([Packages + "/w", Packages + "/z/9.9.9"], removed);
        Assert.False(File.Exists(Packages + "/z/9.9.9") || Directory.Exists(Packages + "/w"));
        Assert.NotNull(new FileInfo(Packages + "/old/1.0.0").LinkTarget);
        Assert.True(Directory.Exists(Home + "/.ssh"), "the link's target is untouched");
    }
}
