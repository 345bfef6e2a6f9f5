using SandboxedBuild.Errors;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Core.Tests;

/// <summary>Paths resolved on the host before they are bound: which links are followed, which are refused.</summary>
public sealed class HostPathTests
{
    [Fact]
    public void System_links_are_followed_and_trusted()
    {
        var resolved = HostPath.Resolve(FakeFileSystem.Debian(), "/bin/sh", TestHosts.Home);
        Assert.Equal("/usr/bin/sh", resolved.Real);
        Assert.False(resolved.IsUntrusted);
    }

    [Theory]
    [InlineData("..", "/home/dev/src")]
    [InlineData("../../.ssh", "/home/dev/.ssh")]
    [InlineData("/etc", "/etc")]
    [InlineData("./../app/../../.", "/home/dev")]
    public void A_link_in_a_writable_directory_is_refused_whatever_its_target(string target, string real)
    {
        var fs = FakeFileSystem.Debian().Link(TestHosts.Project + "/h", target);
        var resolved = HostPath.Resolve(fs, TestHosts.Project + "/h/Debug", TestHosts.Home);
        Assert.True(resolved.IsUntrusted);
        Assert.Equal(TestHosts.Project + "/h", resolved.Link);
        Assert.Equal(target, resolved.Target);
        Assert.Equal(real + "/Debug", resolved.Real);
    }

    [Fact]
    public void A_link_in_a_directory_the_caller_cannot_write_is_followed()
    {
        var fs = FakeFileSystem.Debian().ReadOnlyDir("/data").Dir("/data/real").Link("/data/link", "real");
        var resolved = HostPath.Resolve(fs, "/data/link/x", TestHosts.Home);
        Assert.False(resolved.IsUntrusted);
        Assert.Equal("/data/real/x", resolved.Real);
    }

    [Fact]
    public void Links_in_the_home_directory_and_its_parents_are_the_users_own()
    {
        var fs = FakeFileSystem.Debian().Dir("/mnt/disk/packages").Link(TestHosts.Home + "/big", "/mnt/disk");
        var resolved = HostPath.Resolve(fs, TestHosts.Home + "/big/packages", TestHosts.Home);
        Assert.False(resolved.IsUntrusted);
        Assert.Equal("/mnt/disk/packages", resolved.Real);
    }

    [Fact]
    public void A_link_chain_is_followed_to_its_end_and_the_first_untrusted_link_is_named()
    {
        var fs = FakeFileSystem.Debian().Link(TestHosts.Project + "/a", "b").Link(TestHosts.Project + "/b", "/bin");
        var resolved = HostPath.Resolve(fs, TestHosts.Project + "/a", TestHosts.Home);
        Assert.Equal(TestHosts.Project + "/a", resolved.Link);
        Assert.Equal("/usr/bin", resolved.Real);
    }

    [Fact]
    public void A_link_loop_is_untrusted_and_ends()
    {
        var fs = FakeFileSystem.Debian().Link(TestHosts.Project + "/a", "b").Link(TestHosts.Project + "/b", "a");
        var resolved = HostPath.Resolve(fs, TestHosts.Project + "/a/x", TestHosts.Home);
        Assert.True(resolved.Loops);
        Assert.True(resolved.IsUntrusted);
    }

    [Fact]
    public void A_path_without_links_is_its_own_real_location()
    {
        var resolved = HostPath.Resolve(FakeFileSystem.Debian(), TestHosts.Project + "/obj/new dir/x", TestHosts.Home);
        Assert.False(resolved.IsUntrusted);
        Assert.Equal(TestHosts.Project + "/obj/new dir/x", resolved.Real);
    }

    [Theory]
    [InlineData("out", "..")]
    [InlineData("out", "/etc")]
    [InlineData("out", "../../.ssh")]
    public void Allow_write_through_a_planted_link_is_refused_with_the_link_named(string name, string target)
    {
        var fs = FakeFileSystem.Debian().Dir(TestHosts.Project + "/real").Link(TestHosts.Project + "/" + name, target);
        var host = TestHosts.Create(fs);
        var e = Assert.Throws<SandboxException>(() => TestHosts.Policy(new ExecOptions { AllowWrite = [name] }, host));
        Assert.Equal("SBX3015", e.Error.Code);
        Assert.Contains(TestHosts.Project + "/" + name, e.Message, StringComparison.Ordinal);

        var read = Assert.Throws<SandboxException>(() => TestHosts.Policy(new ExecOptions { AllowRead = [name] }, host));
        Assert.Equal("SBX3015", read.Error.Code);

        // The real directory itself is fine.
        var policy = TestHosts.Policy(new ExecOptions { AllowWrite = ["real"] }, host);
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(TestHosts.Project + "/real/x")!.Access);
    }

    [Theory]
    [InlineData(".vscode", "../../.ssh")]
    [InlineData(".envrc", "/home/dev/.ssh/id_ed25519")]
    [InlineData(".git", "/home/dev/.ssh")]
    [InlineData(".bash_login", "missing-target")]
    public void A_protected_name_that_is_a_link_refuses_the_run(string name, string target)
    {
        var fs = FakeFileSystem.Debian().Link(TestHosts.Project + "/" + name, target);
        var e = Assert.Throws<SandboxException>(() => TestHosts.Policy(host: TestHosts.Create(fs)));
        Assert.Equal("SBX3017", e.Error.Code);
        Assert.Contains(TestHosts.Project + "/" + name, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_protected_name_in_the_git_directory_that_is_a_link_refuses_the_run()
    {
        var fs = FakeFileSystem.Debian().File(TestHosts.Project + "/.git/HEAD").Link(TestHosts.Project + "/.git/hooks", "../../../.ssh");
        var e = Assert.Throws<SandboxException>(() => TestHosts.Policy(host: TestHosts.Create(fs)));
        Assert.Equal("SBX3017", e.Error.Code);
    }

    [Fact]
    public void A_linked_packages_folder_is_left_out_of_exec_with_a_warning()
    {
        var fs = FakeFileSystem.Debian().Dir(TestHosts.Home + "/.nuget").Dir(TestHosts.Project + "/pk").Link(TestHosts.Home + "/.nuget/packages", TestHosts.Project + "/pk");
        var warnings = new List<Diagnostic>();
        var policy = TestHosts.Policy(host: TestHosts.Create(fs), warnings: warnings);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3016", StringComparison.Ordinal));
        Assert.NotEqual(PathAccess.ReadOnly, policy.RuleFor(TestHosts.Home + "/.nuget/packages/x")?.Access);
    }
}
