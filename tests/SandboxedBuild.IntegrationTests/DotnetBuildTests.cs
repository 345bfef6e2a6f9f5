using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>Real .NET work inside the sandbox, with no network. Serial: each build uses both cores.</summary>
[Collection(nameof(DotnetBuildTests))]
[CollectionDefinition(nameof(DotnetBuildTests), DisableParallelization = true)]
public sealed class DotnetBuildTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Dotnet_build_and_run_of_a_sample_succeed_inside_and_leave_nothing_running(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Cli.TestAssets, "hello")))
        {
            File.Copy(file, Path.Combine(ws.Project, Path.GetFileName(file)), overwrite: true);
        }

        File.Copy(Path.Combine(Cli.TestAssets, "Directory.Build.props"), Path.Combine(ws.Home, "src", "Directory.Build.props"));
        ws.FixOwnership();
        var build = Cli.Run(id, ws, ["exec", "--", "dotnet", "build", "-nologo", "-v:q"]);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.True(File.Exists(Path.Combine(ws.Project, "bin", "Debug", "net10.0", "hello.dll")));
        Assert.True(File.Exists(Path.Combine(ws.Project, "obj", "project.assets.json")));

        var run = Cli.Run(id, ws, ["exec", "--", "dotnet", "bin/Debug/net10.0/hello.dll"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("hello from the sandbox", run.StandardOutput, StringComparison.Ordinal);

        var left = Cli.Exec("pgrep", "-f", $"{ws.Root}.*(MSBuild|VBCSCompiler)");
        Assert.True(left.ExitCode != 0, "build servers outlived the sandbox: " + left.StandardOutput);
    }
}
