using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// A project restored with a NuGet lock file (testassets/lockfile): the restore writes
/// packages.lock.json beside the project, and nothing else there may change.
/// </summary>
[Collection(nameof(DotnetBuildTests))]
public sealed class LockFileTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void The_restore_writes_the_lock_file_and_cannot_change_what_is_beside_it(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "lockfile");
        var lockFile = Path.Combine(ws.Project, "packages.lock.json");
        var program = File.ReadAllText(Path.Combine(ws.Project, "Program.cs"));

        var r = Cli.Run(id, ws, ["restore"], timeoutSeconds: 300);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("\"version\": 1", File.ReadAllText(lockFile), StringComparison.Ordinal);
        Assert.DoesNotContain("SBX3031", r.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(ws.Project, "*.tmp"));

        var locked = Cli.Run(id, ws, ["restore", "--locked-mode"], timeoutSeconds: 300);
        Assert.True(locked.ExitCode == 0, locked.ToString());

        // Armed, a target that runs with the restore tries to change what is beside the lock file.
        var armed = Cli.Run(id, ws, ["restore", "--setenv", "SBX_LOCKFILE_ARMED=1"], timeoutSeconds: 300);
        Assert.True(armed.ExitCode == 0, armed.ToString());
        Assert.Equal(program, File.ReadAllText(Path.Combine(ws.Project, "Program.cs")));
        Assert.True(File.Exists(Path.Combine(ws.Project, "lockfile.csproj")), "the restore removed the project file");
        Assert.Contains($"warning SBX3031: the restore added 'Directory.Build.rsp' to '{ws.Project}', where only the lock file '{lockFile}' was to change.", armed.StandardError, StringComparison.Ordinal);
        File.Delete(Path.Combine(ws.Project, "Directory.Build.rsp"));

        // Each entry with its reason.
        var policy = Cli.Run(id, ws, ["policy", "--step", "restore"]);
        Assert.Contains($"write      {ws.Project} ", policy.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("NuGet lock file of lockfile.csproj", policy.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("beside the lock file of lockfile.csproj: the restore may replace the lock file, not this", policy.StandardOutput, StringComparison.Ordinal);

        // The other steps do not write the project's directory.
        var build = Cli.Run(id, ws, ["policy", "--step", "build"]);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.DoesNotContain($"write      {ws.Project} ", build.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("lock file", build.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_link_beside_the_lock_file_keeps_the_directory_read_only_and_says_why(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "lockfile");
        var outside = Path.Combine(ws.Outside, "notes.txt");
        File.WriteAllText(outside, "the user's notes");
        File.CreateSymbolicLink(Path.Combine(ws.Project, "notes.txt"), outside);
        ws.FixOwnership();

        var r = Cli.Run(id, ws, ["restore"], timeoutSeconds: 300);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("warning SBX3030: the restore of lockfile.csproj cannot write its lock file", r.StandardError, StringComparison.Ordinal);
        Assert.Contains($"'{ws.Project}/notes.txt' in it is a symbolic link", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", r.StandardOutput + r.StandardError, StringComparison.Ordinal);
        Assert.Equal(outside, new FileInfo(Path.Combine(ws.Project, "notes.txt")).LinkTarget);
        Assert.Equal("the user's notes", File.ReadAllText(outside));
        Assert.False(File.Exists(Path.Combine(ws.Project, "packages.lock.json")));
    }

    [Fact]
    public void A_lock_file_path_into_git_or_onto_a_file_that_is_not_a_lock_file_is_refused()
    {
        // An earlier sandbox edited the repository's props: the lock file is now .git/config, whose
        // directory the restore would make writable (core.fsmonitor runs code on the next git status).
        using var ws = new Workspace(Identity.Current);
        Assets.CopyInto(ws, "lockfile");
        var config = Path.Combine(ws.Project, ".git", "config");
        var before = File.ReadAllText(config);
        foreach (var path in new[] { "$(MSBuildThisFileDirectory).git/config", "$(MSBuildThisFileDirectory)Program.cs", "$(MSBuildThisFileDirectory).vscode/packages.lock.json" })
        {
            Directory.CreateDirectory(Path.Combine(ws.Project, ".vscode"));
            File.WriteAllText(Path.Combine(ws.Project, "Directory.Build.props"), $"<Project><PropertyGroup><NuGetLockFilePath>{path}</NuGetLockFilePath></PropertyGroup></Project>");
            var r = Cli.Run(Identity.Current, ws, ["restore"], timeoutSeconds: 300);
            Assert.Equal(before, File.ReadAllText(config));
            Assert.StartsWith("Console.WriteLine(\"SBX-LOCKFILE", File.ReadAllText(Path.Combine(ws.Project, "Program.cs")), StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(ws.Project, ".vscode", "packages.lock.json")), r.ToString());
            Assert.Contains("warning SBX3013: ignoring the lock file", r.StandardError, StringComparison.Ordinal);
            Assert.Contains("not a '*.lock.json' file in a directory whose name does not start with '.'", r.StandardError, StringComparison.Ordinal);
        }
    }
}
