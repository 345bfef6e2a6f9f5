using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Core.Tests;

/// <summary>
/// What the mount check records right before the spawn: a path bubblewrap is to bind that has
/// vanished or become a link since the command line was built is refused, never skipped.
/// </summary>
public sealed class MountCheckTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sbx-mountcheck-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Real_directories_and_files_are_recorded()
    {
        Directory.CreateDirectory(_root + "/out");
        File.WriteAllText(_root + "/out/.envrc", string.Empty);
        _ = MountCheck.Create().Record([_root + "/out", _root + "/out/.envrc"], "/nonexistent", new HostFileSystem());
    }

    [Fact]
    public void A_path_that_vanished_since_the_command_line_was_built_is_refused()
    {
        // Removed in between, by a sandbox swapping it: bubblewrap may find something else there.
        var e = Assert.Throws<SandboxException>(() => MountCheck.Create().Record([_root + "/out"], "/nonexistent", new HostFileSystem()));
        Assert.Equal("SBX4009", e.Error.Code);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("/etc")]
    public void A_path_that_became_a_link_is_refused(string target)
    {
        File.CreateSymbolicLink(_root + "/out", target);
        var e = Assert.Throws<SandboxException>(() => MountCheck.Create().Record([_root + "/out"], "/nonexistent", new HostFileSystem()));
        Assert.Equal("SBX4009", e.Error.Code);
    }
}
