using SandboxedBuild.Linux;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Core.Tests;

public sealed class BwrapCommandLineTests
{
    private static IReadOnlyList<string> Args(SandboxPolicy? policy = null, FakeFileSystem? fs = null) =>
        BwrapCommandLine.Build(policy ?? TestHosts.Policy(), ["dotnet", "build"], fs ?? FakeFileSystem.Debian());

    [Fact]
    public void Default_exec_policy_matches_the_approved_argument_vector()
    {
        var fs = FakeFileSystem.Debian().Dir(TestHosts.Project + "/.git/objects").File(TestHosts.Project + "/.git/config").File(TestHosts.Project + "/.git/HEAD");
        var policy = TestHosts.Policy(host: TestHosts.Create(fs));
        Snapshot.Match("exec-default.bwrap", BwrapCommandLine.ToShell(policy, ["dotnet", "build"], fs));
    }

    [Fact]
    public void Text_rendering_matches_the_approved_listing()
    {
        Snapshot.Match("exec-default.policy", PolicyWriter.ToText(TestHosts.Policy()));
    }

    [Fact]
    public void The_json_policy_matches_the_approved_document()
    {
        var options = new ExecOptions { AllowHosts = ["pkgs.example.com:443"], DenyHosts = ["*.evil.example"], SetVariables = ["GITHUB_TOKEN=ghp_x", "MODE=ci"], ProxyPort = 3128 };
        Snapshot.Match("exec-network.policy.json", PolicyWriter.ToJson(TestHosts.Policy(options), TestWordings.Option));
        Snapshot.Match("exec-none.policy.json", PolicyWriter.ToJson(TestHosts.Policy(new ExecOptions { NetworkMode = Network.NetworkMode.None })));
    }

    [Fact]
    public void Always_a_user_namespace_without_nesting_capabilities_or_network()
    {
        var args = Args();
        foreach (var flag in new[] { "--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-net", "--die-with-parent", "--new-session" })
        {
            Assert.Contains(flag, args);
        }

        Assert.Equal("ALL", args[args.ToList().IndexOf("--cap-drop") + 1]);
        Assert.DoesNotContain("--share-net", args);
    }

    [Fact]
    public void Root_is_never_bound_wholesale()
    {
        var args = Args().ToList();
        for (var i = 0; i < args.Count - 1; i++)
        {
            if (args[i] is "--ro-bind" or "--bind" or "--dev-bind")
            {
                Assert.NotEqual("/", args[i + 1]);
            }
        }
    }

    [Fact]
    public void Parents_are_mounted_before_children()
    {
        var args = Args().ToList();
        var homeTmpfs = IndexOfPair(args, "--tmpfs", TestHosts.Home);
        var project = IndexOfPair(args, "--bind", TestHosts.Project);
        var packages = IndexOfPair(args, "--ro-bind", TestHosts.Home + "/.nuget/packages");
        Assert.True(homeTmpfs >= 0 && project > homeTmpfs && packages > homeTmpfs, string.Join(' ', args));
        Assert.True(args.IndexOf("--") > project);
    }

    [Fact]
    public void Merged_usr_links_are_recreated_not_bound_twice()
    {
        var args = Args().ToList();
        var link = IndexOfPair(args, "--symlink", "usr/bin");
        Assert.True(link >= 0);
        Assert.Equal("/bin", args[link + 2]);
    }

    [Fact]
    public void Missing_protected_paths_get_read_only_placeholders_only_where_they_could_be_created()
    {
        var fs = FakeFileSystem.Debian();
        var policy = TestHosts.Policy(host: TestHosts.Create(fs));
        var placeholders = Placeholders(policy, fs);
        Assert.Contains(TestHosts.Project + "/.git", placeholders);
        Assert.Contains(TestHosts.Project + "/.bashrc", placeholders);

        // The launcher creates the placeholders just before the run; they are bound read-only over themselves.
        var args = Args(policy, fs).ToList();
        Assert.True(IndexOfPair(args, TestHosts.Project + "/.git", TestHosts.Project + "/.git") > 0);
        Assert.Equal("--ro-bind", args[IndexOfPair(args, TestHosts.Project + "/.bashrc", TestHosts.Project + "/.bashrc") - 1]);

        var readOnly = FakeFileSystem.Debian().ReadOnlyDir(TestHosts.Project);
        var policy2 = TestHosts.Policy(host: TestHosts.Create(readOnly));
        Assert.DoesNotContain(TestHosts.Project + "/.git", Placeholders(policy2, readOnly));
        Assert.DoesNotContain(TestHosts.Project + "/.bashrc", Placeholders(policy2, readOnly));
    }

    /// <summary>The missing names the launcher would hold by placeholders (it decides under the placeholders' guard).</summary>
    private static List<string> Placeholders(SandboxPolicy policy, FakeFileSystem fs) =>
        [.. Leftovers.Candidates(policy, fs).Where(r => !fs.DirectoryExists(r.Path) && !fs.FileExists(r.Path)).Select(r => r.Path)];

    [Fact]
    public void Status_descriptor_is_passed_before_the_command()
    {
        var args = BwrapCommandLine.Build(TestHosts.Policy(), ["true"], FakeFileSystem.Debian(), statusFd: 7).ToList();
        Assert.Equal("7", args[args.IndexOf("--json-status-fd") + 1]);
        Assert.Equal(["--", "true"], args[^2..]);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a b", "'a b'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("", "''")]
    public void Shell_quoting_round_trips(string raw, string quoted) => Assert.Equal(quoted, BwrapCommandLine.ShellQuote(raw));

    private static int IndexOfPair(List<string> args, string first, string second)
    {
        for (var i = 0; i < args.Count - 1; i++)
        {
            if (args[i] == first && args[i + 1] == second)
            {
                return i;
            }
        }

        return -1;
    }
}
