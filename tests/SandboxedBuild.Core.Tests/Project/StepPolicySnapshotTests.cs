using System.Collections.Immutable;
using System.Reflection;
using SandboxedBuild.Policy;
using SandboxedBuild.Inference;
using SandboxedBuild.Linux;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests.Project;

/// <summary>
/// The bubblewrap argument vector of the restore, build and test steps of <c>testassets/multi</c>
/// (three projects, artifacts output layout), each an approved snapshot.
/// </summary>
/// <remarks>
/// Machine-independent by construction, not by scrubbing: the host is <see cref="FakeFileSystem.Debian"/>
/// (merged /usr, the SDK in /usr/share/dotnet) with the home <c>/home/dev</c>, the variables of
/// <see cref="TestHosts.DefaultVariables"/> and 8 GiB of memory; the checkout is the files of
/// testassets/multi placed at <c>/home/dev/src/multi</c> in that fake tree; the evaluations are what
/// <c>dotnet msbuild -getProperty</c> answers for its projects (SDK 10.0.401), read by
/// <see cref="MsBuildEvaluation.Parse"/>. The one real directory is the packages folder, since the
/// restore step lists the packages already there from disk: it is made under <c>/tmp</c> (not
/// TMPDIR, so that it sorts in the same place among the mounts everywhere) and shown as
/// <c>&lt;packages&gt;</c>. The proxy's directory and the tool's own path are placeholders already.
/// </remarks>
public sealed class StepPolicySnapshotTests : IDisposable
{
    private const string Home = TestHosts.Home;
    private const string Repo = Home + "/src/multi";

    private static readonly string[] Projects = ["src/App/App.csproj", "src/Lib/Lib.csproj", "tests/Lib.Tests/Lib.Tests.csproj"];

    /// <summary>What a restore of Lib.Tests left in the packages folder.</summary>
    private static readonly string[] Restored = ["microsoft.net.test.sdk/18.0.1", "xunit/2.9.3", "xunit.runner.visualstudio/3.1.5"];

    private static readonly string RepositoryRoot = typeof(StepPolicySnapshotTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

    private readonly string _temp = Directory.CreateDirectory(Path.Combine("/tmp", "sbx-snapshot-" + Path.GetRandomFileName())).FullName;

    public StepPolicySnapshotTests()
    {
        foreach (var package in Restored)
        {
            Directory.CreateDirectory(Packages + "/" + package);
        }
    }

    private string Packages => _temp + "/packages";

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData(WorkflowStep.Restore, "--nologo")]
    [InlineData(WorkflowStep.Build, "--no-restore")]
    [InlineData(WorkflowStep.Test, "--no-build")]
    public void Step_policy_of_multi_matches_the_approved_argument_vector(WorkflowStep step, string stepOption)
    {
        var fs = Tree();
        var host = new HostFacts(Home, Repo, TestHosts.DefaultVariables(), fs) { MemoryTotal = TestHosts.MemoryTotal };
        var warnings = new List<Diagnostic>();
        var plan = StepPolicyBuilder.Build(host, Model(), step, new ExecOptions(), TrustStore.Load(_temp + "/trusted.json"), warnings);
        Assert.Empty(warnings);
        Assert.Empty(plan.Pending);

        var verb = step switch
        {
            WorkflowStep.Restore => "restore",
            WorkflowStep.Build => "build",
            _ => "test",
        };
        var vector = BwrapCommandLine.ToShell(plan.Policy, ["dotnet", verb, Repo + "/multi.slnx", stepOption], fs);
        Assert.DoesNotContain(_temp, vector.Replace(Packages, "<packages>", StringComparison.Ordinal), StringComparison.Ordinal);
        Snapshot.Match($"multi-{verb}.bwrap", vector.Replace(Packages, "<packages>", StringComparison.Ordinal));
    }

    [Fact]
    public void The_printed_document_of_a_step_is_the_policy_s_then_the_step_s_own_members()
    {
        var fs = Tree();
        var host = new HostFacts(Home, Repo, TestHosts.DefaultVariables(), fs) { MemoryTotal = TestHosts.MemoryTotal };
        var plan = StepPolicyBuilder.Build(host, Model(), WorkflowStep.Test, new ExecOptions { ProxyPort = 3128 }, TrustStore.Load(_temp + "/trusted.json"), []);
        var pending = new ProjectWidening(WideningKind.Host, "pkgs.example.com", $"source 'internal' in {Repo}/NuGet.config", [WorkflowStep.Restore]);
        var document = StepPolicyDocument.From(plan with { Pending = [pending] }, WorkflowStep.Test, ["dotnet", "test", Repo + "/multi.slnx"], Repo + "/multi.slnx", Repo, TestWordings.Option);

        Snapshot.Match("multi-test.policy.json", document.ToJson().Replace(Packages, "<packages>", StringComparison.Ordinal));
    }

    /// <summary>The fake host with testassets/multi checked out at <see cref="Repo"/> (no build output in it).</summary>
    private FakeFileSystem Tree()
    {
        var fs = FakeFileSystem.Debian(Home).Dir(Home + "/.local/share/NuGet/http-cache", Repo + "/.git/objects").File(Repo + "/.git/HEAD").File(Repo + "/.git/config");
        var asset = Path.Combine(RepositoryRoot, "testassets", "multi");
        foreach (var file in Directory.EnumerateFiles(asset, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(asset, file);
            if (!relative.Split('/').Any(part => part is "artifacts" or "bin" or "obj" or "TestResults"))
            {
                fs.File(Repo + "/" + relative);
            }
        }

        foreach (var package in Restored)
        {
            fs.Dir(Packages + "/" + package);
        }

        return fs;
    }

    private ProjectModel Model()
    {
        var repoConfig = Repo + "/NuGet.config";
        var nuget = new NuGetSettingsSnapshot(
            Packages, ConfigOrigin.Default with { Name = "~/.nuget/packages" }, Home + "/.local/share/NuGet/http-cache", [],
            [new NuGetSource("nuget.org", "https://api.nuget.org/v3/index.json", new ConfigOrigin(ConfigOriginKind.ProjectConfig, repoConfig), false)],
            [repoConfig, Home + "/.nuget/NuGet/NuGet.Config"], Home + "/.nuget/NuGet/NuGet.Config")
        {
            ProjectConfigFiles = [repoConfig],
        };
        var feedHosts = ImmutableDictionary<string, ImmutableArray<string>>.Empty.Add("https://api.nuget.org/v3/index.json", ["api.nuget.org"]);
        return new ProjectModel(Repo + "/multi.slnx", Repo, [.. Projects.Select(Evaluation)], nuget, feedHosts, false, TimeSpan.Zero);
    }

    /// <summary>The evaluation of one project of multi, from the JSON <c>dotnet msbuild</c> writes for it.</summary>
    private static ProjectEvaluation Evaluation(string relative)
    {
        var path = Repo + "/" + relative;
        var name = Path.GetFileNameWithoutExtension(relative);
        var references = name == "Lib" ? string.Empty : $$"""{ "Identity": "{{(name == "App" ? "../Lib/Lib.csproj" : "../../src/Lib/Lib.csproj")}}" }""";
        var json = $$"""
            {
              "Properties": {
                "MSBuildProjectFullPath": "{{path}}",
                "BaseIntermediateOutputPath": "{{Repo}}/artifacts/obj/{{name}}/",
                "MSBuildProjectExtensionsPath": "{{Repo}}/artifacts/obj/{{name}}/",
                "IntermediateOutputPath": "{{Repo}}/artifacts/obj/{{name}}/debug/",
                "BaseOutputPath": "{{Repo}}/artifacts/bin/{{name}}/",
                "OutputPath": "{{Repo}}/artifacts/bin/{{name}}/debug/",
                "UseArtifactsOutput": "true",
                "ArtifactsPath": "{{Repo}}/artifacts",
                "RestorePackagesPath": "",
                "RestoreSources": "",
                "RestoreAdditionalProjectSources": "",
                "RestoreFallbackFolders": "",
                "IsTestProject": "{{(name == "Lib.Tests" ? "true" : string.Empty)}}",
                "VSTestResultsDirectory": ""
              },
              "Items": { "ProjectReference": [{{references}}], "SandboxAllowedHost": [] }
            }
            """;
        return MsBuildEvaluation.Parse(path, json);
    }
}
