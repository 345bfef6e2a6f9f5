using System.Diagnostics;
using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

/// <summary>Which lock file a restore uses, and what beside it a bind can hold while the restore may write there.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LockFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sbx-lockfiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ProjectEvaluation Project(string? withLockFile = null, string? lockPath = null) => new(
        Path.Combine(_dir, "My App.csproj"), [], [], null, null, [], [], false, null, [], [], lockPath, withLockFile);

    [Fact]
    public void The_lock_file_is_the_one_NuGet_would_use()
    {
        Assert.Null(LockFiles.Of(Project()));
        Assert.Equal(Path.Combine(_dir, "packages.lock.json"), LockFiles.Of(Project("true")));
        Assert.Equal(Path.Combine(_dir, "packages.lock.json"), LockFiles.Of(Project("True")));
        Assert.Null(LockFiles.Of(Project("false")));
        Assert.Equal("/elsewhere/custom.lock.json", LockFiles.Of(Project("true", "/elsewhere/custom.lock.json")));

        // A lock file already there is used without the property, and the project-named one first.
        File.WriteAllText(Path.Combine(_dir, "packages.lock.json"), "{}");
        Assert.Equal(Path.Combine(_dir, "packages.lock.json"), LockFiles.Of(Project()));
        File.WriteAllText(Path.Combine(_dir, "packages.My_App.lock.json"), "{}");
        Assert.Equal(Path.Combine(_dir, "packages.My_App.lock.json"), LockFiles.Of(Project()));
    }

    [Fact]
    public void Every_file_and_directory_beside_the_lock_file_is_held_but_the_lock_file_and_what_the_step_writes()
    {
        var lockFile = Path.Combine(_dir, "packages.lock.json");
        foreach (var file in new[] { "App.csproj", "Program.cs", ".editorconfig", "packages.lock.json" })
        {
            File.WriteAllText(Path.Combine(_dir, file), "x");
        }

        Directory.CreateDirectory(Path.Combine(_dir, ".git"));
        Directory.CreateDirectory(Path.Combine(_dir, "src"));
        Directory.CreateDirectory(Path.Combine(_dir, "obj"));
        var held = LockFiles.EntriesToHold(_dir, lockFile, new HashSet<string> { Path.Combine(_dir, "obj") }, out var why);
        Assert.NotNull(held);
        Assert.Equal(string.Empty, why);
        Assert.Equal(new[] { ".editorconfig", ".git", "App.csproj", "Program.cs", "src" }.Select(n => Path.Combine(_dir, n)), held.Order(StringComparer.Ordinal));

        // After the step: what is new but the lock file and the step's own directories.
        File.WriteAllText(Path.Combine(_dir, "Directory.Build.rsp"), "-p:X=1");
        Directory.CreateDirectory(Path.Combine(_dir, "obj", "more"));
        var added = LockFiles.Added(new LockFileDirectory(_dir, lockFile, held), new HashSet<string> { Path.Combine(_dir, "obj") });
        Assert.Equal([Path.Combine(_dir, "Directory.Build.rsp")], added);
    }

    [Theory]
    [InlineData("link")]
    [InlineData("dangling link")]
    [InlineData("fifo")]
    [InlineData("too many")]
    public void A_directory_a_bind_cannot_hold_is_not_made_writable(string what)
    {
        var lockFile = Path.Combine(_dir, "packages.lock.json");
        File.WriteAllText(Path.Combine(_dir, "App.csproj"), "x");
        switch (what)
        {
            case "link":
                File.CreateSymbolicLink(Path.Combine(_dir, "shared.props"), "/etc/passwd");
                break;
            case "dangling link":
                File.CreateSymbolicLink(Path.Combine(_dir, "gone"), "missing");
                break;
            case "fifo":
                using (var mkfifo = Process.Start("mkfifo", [Path.Combine(_dir, "pipe")]))
                {
                    mkfifo.WaitForExit();
                    Assert.Equal(0, mkfifo.ExitCode);
                }

                break;
            default:
                for (var i = 0; i < LockFiles.MaxEntries; i++)
                {
                    File.WriteAllText(Path.Combine(_dir, "f" + i), string.Empty);
                }

                break;
        }

        Assert.Null(LockFiles.EntriesToHold(_dir, lockFile, new HashSet<string>(), out var why));
        Assert.Contains(what switch { "link" or "dangling link" => "symbolic link", "fifo" => "not a file or a directory", _ => "more than 512" }, why, StringComparison.Ordinal);
    }

    [Fact]
    public void The_lock_file_itself_may_be_a_link_since_NuGet_replaces_it()
    {
        var lockFile = Path.Combine(_dir, "packages.lock.json");
        File.CreateSymbolicLink(lockFile, "elsewhere.json");
        var held = LockFiles.EntriesToHold(_dir, lockFile, new HashSet<string>(), out _);
        Assert.NotNull(held);
        Assert.Empty(held);
    }
}
