using System.Collections.Immutable;
using SandboxedBuild.Errors;
using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

/// <summary>NuGet's record in obj/ is the restore sandbox's to write: it is read only as a plain file.</summary>
public sealed class RestoreStateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sbx-restorestate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ProjectModel Model()
    {
        var csproj = Path.Combine(_dir, "App.csproj");
        File.WriteAllText(csproj, "<Project />");
        File.SetLastWriteTimeUtc(csproj, DateTime.UtcNow.AddHours(-1));
        var obj = Directory.CreateDirectory(Path.Combine(_dir, "obj")).FullName;
        File.WriteAllText(Path.Combine(obj, "project.assets.json"), "{}");
        var evaluation = new ProjectEvaluation(csproj, [new SourcedPath(obj, "BaseIntermediateOutputPath")], [], null, null, [], [], false, null, [], []);
        var nuget = new NuGetSettingsSnapshot(_dir + "/packages", ConfigOrigin.Default, _dir + "/http", [], [], [], null);
        return new ProjectModel(csproj, _dir, [evaluation], nuget, ImmutableDictionary<string, ImmutableArray<string>>.Empty, false, TimeSpan.Zero) { Inputs = [csproj] };
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("bait")]
    public async Task A_record_that_is_a_link_is_SBX3018_not_a_hang_or_a_read_elsewhere(string target)
    {
        var model = Model();
        var bait = Path.Combine(_dir, "bait");
        File.WriteAllText(bait, """{"success": true, "expectedPackageFiles": []}""");
        var record = Path.Combine(_dir, "obj", "project.nuget.cache");
        File.CreateSymbolicLink(record, target == "bait" ? bait : target);

        var check = Task.Run(() => RestoreState.IsUpToDate(model, out _), TestContext.Current.CancellationToken);
        Assert.True(await Task.WhenAny(check, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)) == check, "the check did not end");
        var e = Assert.IsType<SandboxException>(check.Exception?.InnerException);
        Assert.Same(Errors.Errors.UnsafeFileRefused, e.Error);
        Assert.Contains(record, e.Message, StringComparison.Ordinal);

        // The record NuGet writes.
        File.Delete(record);
        File.Copy(bait, record);
        Assert.True(RestoreState.IsUpToDate(model, out var why), why);
    }

    [Fact]
    public void The_reason_names_the_file_that_changed_not_just_a_project()
    {
        var model = Model();
        File.WriteAllText(Path.Combine(_dir, "obj", "project.nuget.cache"), """{"success": true, "expectedPackageFiles": []}""");
        File.SetLastWriteTimeUtc(Path.Combine(_dir, "obj", "project.nuget.cache"), DateTime.UtcNow.AddMinutes(-30));
        Assert.True(RestoreState.IsUpToDate(model, out var why), why);

        // A central package version changed (the project file did not), in a directory whose name holds an escape sequence.
        var props = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "build\u001b[2J")).FullName, "Directory.Packages.props");
        File.WriteAllText(props, "<Project />");
        model = model with { Inputs = [.. model.Inputs, props] };

        Assert.False(RestoreState.IsUpToDate(model, out why));
        Assert.Equal("build\\x1B[2J/Directory.Packages.props changed since the last restore of App.csproj", why);

        // No assets file: said as such, not as a change.
        File.SetLastWriteTimeUtc(props, DateTime.UtcNow.AddHours(-2));
        File.Delete(Path.Combine(_dir, "obj", "project.assets.json"));
        Assert.False(RestoreState.IsUpToDate(model, out why));
        Assert.Equal("the restore's project.assets.json of App.csproj is missing", why);
    }

    [Fact]
    public void A_missing_package_path_is_reported_with_control_characters_escaped()
    {
        var model = Model();
        File.WriteAllText(Path.Combine(_dir, "obj", "project.nuget.cache"), """{"success": true, "expectedPackageFiles": ["/nowhere/\u001b[2Jx.nupkg.sha512"]}""");
        Assert.False(RestoreState.IsUpToDate(model, out var why));
        Assert.DoesNotContain('\u001b', why);
        Assert.Contains("\\x1B[2Jx.nupkg.sha512", why, StringComparison.Ordinal);
    }
}
