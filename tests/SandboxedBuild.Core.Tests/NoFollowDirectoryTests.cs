using SandboxedBuild.Linux;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Core.Tests;

public sealed class NoFollowDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sbx-mkdir-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Creates_missing_directories_below_real_ones()
    {
        NoFollowDirectory.Create(_root + "/obj/Debug/net10.0");
        Assert.True(Directory.Exists(_root + "/obj/Debug/net10.0"));
        NoFollowDirectory.Create(_root + "/obj/Debug/net10.0");
    }

    [Theory]
    [InlineData("obj")]
    [InlineData("obj/Debug")]
    public void Creates_nothing_through_a_link_anywhere_on_the_way(string linked)
    {
        var elsewhere = Directory.CreateDirectory(_root + "/elsewhere").FullName;
        Directory.CreateDirectory(Path.GetDirectoryName(_root + "/" + linked)!);
        File.CreateSymbolicLink(_root + "/" + linked, elsewhere);
        var e = Assert.Throws<IOException>(() => NoFollowDirectory.Create(_root + "/obj/Debug/net10.0"));
        Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(elsewhere));
    }

    [Fact]
    public void A_file_in_the_way_is_refused()
    {
        File.WriteAllText(_root + "/obj", "x");
        Assert.Throws<IOException>(() => NoFollowDirectory.Create(_root + "/obj/Debug"));
    }
}
