using SandboxedBuild.Errors;
using SandboxedBuild.MacOS;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Core.Tests.MacOS;

/// <summary>
/// The seatbelt profile, read back with <see cref="SbplModel"/>: what the rules allow and refuse
/// under SBPL's last-match semantics. Nothing here runs on macOS; docs/seatbelt.md lists what only
/// a Mac can confirm.
/// </summary>
public sealed class SeatbeltProfileTests
{
    private const string Private = "/private/tmp/dotnet-sandbox-test";
    private const string Project = TestHosts.Project;
    private static readonly SeatbeltHost Host = new(TestHosts.Home, Private);

    private static FakeFileSystem WithRepository() =>
        FakeFileSystem.Debian().Dir(Project + "/.git/objects", Project + "/.git/hooks").File(Project + "/.git/config").File(Project + "/.git/HEAD");

    private static string Render(SandboxPolicy policy) => SeatbeltProfile.Build(policy, Host);

    private static SbplModel Model(SandboxPolicy? policy = null) =>
        SbplModel.Parse(Render(policy ?? TestHosts.Policy(host: TestHosts.Create(WithRepository()))));

    private static SandboxPolicy Policy(NetworkPolicy network, params PathRule[] paths) =>
        new(paths.FirstOrDefault(p => p.Access == PathAccess.ReadWrite)?.Path ?? "/", [.. paths], [], network);

    private static SandboxPolicy Policy(params PathRule[] paths) => Policy(NetworkPolicy.None, paths);

    private static PathRule Rule(string path, PathAccess access) => new(path, access, "test");

    [Fact]
    public void Default_exec_policy_matches_the_approved_profile()
    {
        Snapshot.Match("exec-default.seatbelt", Render(TestHosts.Policy(host: TestHosts.Create(WithRepository()))));
    }

    [Fact]
    public void Profile_denies_by_default_and_every_form_reads_back()
    {
        var model = Model();
        Assert.Equal(new SbplSymbol("version"), Assert.IsAssignableFrom<IReadOnlyList<object>>(model.Forms[0])[0]);
        var first = model.Rules[0];
        Assert.False(first.Allow);
        Assert.Equal(["default"], first.Operations);
        Assert.Empty(first.Filters);
        Assert.DoesNotContain(model.Rules.Skip(1), r => r.Operations.Contains("default"));
    }

    [Fact]
    public void Most_specific_path_wins_whatever_order_the_policy_lists_them_in()
    {
        // Deliberately most specific first: the renderer must sort, because SBPL lets the last rule win.
        var model = Model(Policy(
            Rule("/data/app/out/secret", PathAccess.Hidden),
            Rule("/data/app/out", PathAccess.ReadOnly),
            Rule("/data/app", PathAccess.ReadWrite),
            Rule("/data", PathAccess.ReadOnly)));

        Assert.True(model.Allows("file-read-data", "/data/readme"));
        Assert.False(model.Allows("file-write-create", "/data/new"));
        Assert.True(model.Allows("file-write-create", "/data/app/Program.cs"));
        Assert.True(model.Allows("file-read-data", "/data/app/out/app.dll"));
        Assert.False(model.Allows("file-write-data", "/data/app/out/app.dll"));
        Assert.False(model.Allows("file-read-data", "/data/app/out/secret/key"));
        Assert.False(model.Allows("file-write-unlink", "/data/app/out/secret"));
        Assert.False(model.Allows("file-read-data", "/elsewhere"));
    }

    [Fact]
    public void Hidden_paths_under_a_read_only_directory_are_refused_in_both_forms_and_any_case()
    {
        var model = Model();
        Assert.True(model.Allows("file-read-data", "/etc/passwd"));
        Assert.True(model.Allows("file-read-data", "/private/etc/passwd"));
        Assert.False(model.Allows("file-write-data", "/private/etc/passwd"));
        foreach (var secret in new[] { "/etc/shadow", "/private/etc/shadow", "/etc/ssh/ssh_host_ed25519_key", "/private/etc/SSH/ssh_host_ed25519_key", "/private/etc/ssl/Private/key.pem" })
        {
            Assert.False(model.Allows("file-read-data", secret), secret);
            Assert.False(model.Allows("process-exec", secret), secret);
        }
    }

    [Fact]
    public void Protected_paths_inside_the_writable_project_stay_read_only_and_cannot_be_created()
    {
        var model = Model();
        Assert.True(model.Allows("file-write-create", Project + "/Program.cs"));
        Assert.True(model.Allows("file-write-create", Project + "/obj/project.assets.json"));
        Assert.True(model.Allows("file-write-create", Project + "/.git/objects/ab/cdef"));
        Assert.True(model.Allows("file-read-data", Project + "/.git/config"));
        Assert.True(model.Allows("process-exec", Project + "/.git/hooks/pre-commit"));

        Assert.False(model.Allows("file-write-data", Project + "/.git/config"));
        Assert.False(model.Allows("file-write-create", Project + "/.git/hooks/pre-commit"));
        Assert.False(model.Allows("file-write-create", Project + "/.bashrc"));
        Assert.False(model.Allows("file-write-create", Project + "/.vscode/tasks.json"));

        // Held by no placeholder on Linux (git fails on one); seatbelt simply refuses to create them.
        Assert.False(model.Allows("file-write-create", Project + "/.git/commondir"));
        Assert.False(model.Allows("file-write-create", Project + "/.git/config.worktree"));

        // macOS volumes are case-insensitive: these are the same files to git and the shell.
        Assert.False(model.Allows("file-write-data", Project + "/.git/CONFIG"));
        Assert.False(model.Allows("file-write-create", Project + "/.Git/Hooks/post-checkout"));
        Assert.False(model.Allows("file-write-create", Project + "/.VSCode/tasks.json"));
    }

    [Fact]
    public void A_missing_repository_cannot_be_created_in_any_case()
    {
        var model = Model(TestHosts.Policy());
        Assert.False(model.Allows("file-write-create", Project + "/.git"));
        Assert.False(model.Allows("file-write-create", Project + "/.GIT"));
        Assert.False(model.Allows("file-write-create", Project + "/.GIT/config"));
        Assert.True(model.Allows("file-write-create", Project + "/.gitignore"));
        Assert.True(model.Allows("file-write-create", Project + "/.github/workflows/ci.yml"));
    }

    [Fact]
    public void Directories_holding_protected_paths_are_pinned_but_their_contents_stay_writable()
    {
        // Renamed away, edited, renamed back: the hooks would escape their rule. On Linux a mount point prevents it.
        var model = Model();
        Assert.False(model.Allows("file-write-unlink", Project + "/.git"));
        Assert.False(model.Allows("file-write-create", Project + "/.GIT"));
        Assert.False(model.Allows("file-write-unlink", Project));
        Assert.True(model.Allows("file-write-create", Project + "/.git/index.lock"));
        Assert.True(model.Allows("file-write-unlink", Project + "/.git/index.lock"));
        Assert.True(model.Allows("file-write-unlink", Project + "/obj"));
    }

    [Fact]
    public void Private_paths_are_refused_in_place_and_live_in_the_run_directory()
    {
        var model = Model();
        foreach (var path in new[] { "/tmp/MSBuild1234", "/private/tmp/MSBuild1234", "/var/tmp/x", "/private/var/tmp/x", TestHosts.Home + "/.ssh/id_ed25519", TestHosts.Home + "/.bashrc" })
        {
            Assert.False(model.Allows("file-read-data", path), path);
            Assert.False(model.Allows("file-write-create", path), path);
        }

        Assert.Equal(Private + "/tmp", SeatbeltProfile.ScratchDirectory(Host, "/tmp"));
        Assert.Equal(Private + TestHosts.Home, SeatbeltProfile.ScratchDirectory(Host, TestHosts.Home));
        foreach (var path in new[] { Private + "/tmp/NuGetScratch/x", "/tmp/dotnet-sandbox-test/tmp/x", Private + TestHosts.Home + "/.dotnet/x" })
        {
            Assert.True(model.Allows("file-write-create", path), path);
            Assert.True(model.Allows("file-read-data", path), path);
        }

        // The packages folder inside the private home keeps its own rule: readable, not writable.
        Assert.True(model.Allows("file-read-data", TestHosts.Home + "/.nuget/packages/xunit/2.9.0/xunit.nuspec"));
        Assert.False(model.Allows("file-write-create", TestHosts.Home + "/.nuget/packages/evil/1.0.0/evil.nuspec"));
    }

    [Fact]
    public void Scratch_directories_and_the_variables_to_point_at_them_are_spelled_out()
    {
        var policy = TestHosts.Policy();
        Assert.Equal(
            [Private + "/tmp", Private + "/dev/shm", Private + "/home/dev", Private + "/var/tmp"],
            SeatbeltProfile.ScratchDirectories(policy, Host));
        var profile = Render(policy);
        Assert.Contains("TMPDIR=" + Private + "/tmp ", profile, StringComparison.Ordinal);
        Assert.Contains("HOME=" + Private + TestHosts.Home + " ", profile, StringComparison.Ordinal);
    }

    [Fact]
    public void Path_resolution_may_stat_the_way_to_visible_paths_but_not_list_or_read_it()
    {
        var model = Model();
        foreach (var dir in new[] { "/", "/home", TestHosts.Home, TestHosts.Home + "/src", "/private", "/private/tmp" })
        {
            Assert.True(model.Allows("file-read-metadata", dir), dir);
        }

        Assert.False(model.Allows("file-read-data", TestHosts.Home));
        Assert.False(model.Allows("file-read-data", TestHosts.Home + "/src"));
        Assert.False(model.Allows("file-read-metadata", TestHosts.Home + "/src/other-project"));
        Assert.False(model.Allows("file-read-metadata", TestHosts.Home + "/.ssh"));
    }

    [Theory]
    [InlineData("/data/say \"hi\"")]
    [InlineData(@"/data/back\slash")]
    [InlineData(@"/data/both\""")]
    [InlineData("/data/ünïcödé ✓")]
    public void Quotes_and_backslashes_are_escaped_and_read_back_unchanged(string path)
    {
        var model = Model(Policy(Rule(path, PathAccess.ReadWrite), Rule(path + "/keep", PathAccess.Protected)));
        Assert.Contains(model.Rules, r => r.Allow && r.Filters.Any(f => f is [SbplSymbol { Name: "subpath" }, string p] && p == path));
        Assert.True(model.Allows("file-write-create", path + "/file"));
        Assert.False(model.Allows("file-write-create", path + "/keep/file"));
        Assert.False(model.Allows("file-write-create", path + "/KEEP/file"));
    }

    [Fact]
    public void Regex_metacharacters_in_a_denied_path_match_only_themselves()
    {
        var model = Model(Policy(Rule("/w", PathAccess.ReadWrite), Rule("/w/a.b+c(d)[e]", PathAccess.Hidden)));
        Assert.False(model.Allows("file-read-data", "/w/a.b+c(d)[e]/x"));
        Assert.False(model.Allows("file-read-data", "/w/A.B+C(D)[E]"));
        Assert.True(model.Allows("file-read-data", "/w/aXb+c(d)[e]"));
        Assert.True(model.Allows("file-read-data", "/w/a.bbc(d)[e]"));
        Assert.True(model.Allows("file-read-data", "/w/a.b+c(d)[e]x"));
    }

    [Theory]
    [InlineData("/data/line\nbreak")]
    [InlineData("/data/tab\there")]
    [InlineData("/data/esc\u001b[31m")]
    [InlineData("/data/del\u007f")]
    [InlineData("/data/nel\u0085")]
    [InlineData("/data/nul\0")]
    [InlineData("/data/lone-surrogate-")]
    public void Paths_a_profile_cannot_carry_are_refused_with_a_code(string path)
    {
        // An attribute cannot carry an unpaired surrogate (it arrives as U+FFFD): add it here.
        path = path.EndsWith('-') ? path + '\ud800' : path;
        var ex = Assert.Throws<SandboxException>(() => Render(Policy(Rule("/data", PathAccess.ReadWrite), Rule(path, PathAccess.Hidden))));
        Assert.Equal(Errors.Errors.PathNotRepresentableInProfile, ex.Error);
        Assert.StartsWith("SBX5002: ", ex.Message, StringComparison.Ordinal);
        // The path is shown with the offending character escaped, on the message's own line.
        Assert.Contains("\\u", ex.Message.Split(Environment.NewLine)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Host_directories_are_checked_like_policy_paths()
    {
        var policy = Policy(Rule("/data", PathAccess.ReadWrite));
        Assert.Throws<SandboxException>(() => SeatbeltProfile.Build(policy, new SeatbeltHost("/Users/dev", "/private/tmp/run\n(allow default)")));
        Assert.Throws<ArgumentException>(() => SeatbeltProfile.Build(policy, new SeatbeltHost("/Users/dev", "tmp/relative")));
        Assert.Throws<ArgumentException>(() => SeatbeltProfile.Build(policy, new SeatbeltHost("/Users/dev", "/private/tmp/../etc")));
        Assert.Throws<ArgumentException>(() => SeatbeltProfile.Build(policy, new SeatbeltHost("/Users/dev", "/")));
        Assert.Throws<ArgumentException>(() => SeatbeltProfile.Build(policy, new SeatbeltHost("/Users/dev", "/tmp")));
        Assert.Throws<ArgumentException>(() => SeatbeltProfile.Build(policy, new SeatbeltHost("/Users/dev", "/private/tmp")));
        Assert.Throws<ArgumentException>(() => SeatbeltProfile.Build(policy, new SeatbeltHost("/Users/dev", "/Users/dev")));
        var inside = Policy(Rule("/srv/build/run/app", PathAccess.ReadWrite));
        Assert.Throws<ArgumentException>(() => SeatbeltProfile.Build(inside, new SeatbeltHost("/Users/dev", "/srv/build/run")));
        Assert.Contains("(subpath \"/tmp/run-1\")", SeatbeltProfile.Build(policy, new SeatbeltHost("/Users/dev", "/tmp/run-1")), StringComparison.Ordinal);
    }

    [Fact]
    public void Reasons_cannot_smuggle_rules_through_comments()
    {
        var model = Model(Policy(new PathRule("/data", PathAccess.ReadOnly, "innocent\n(allow file-write* (subpath \"/\"))\r(allow default)")));
        Assert.False(model.Allows("file-write-create", "/data/x"));
        Assert.DoesNotContain(model.Rules, r => r.Allow && r.Operations.Contains("default"));
    }

    [Fact]
    public void Without_network_nothing_is_reachable_but_sockets_in_the_run_directory()
    {
        var model = Model(TestHosts.Policy(new ExecOptions { NetworkMode = NetworkMode.None }, TestHosts.Create(WithRepository())));
        Assert.False(model.AllowsConnect("localhost", 3128));
        Assert.False(model.AllowsConnect("localhost", 5432));
        Assert.False(model.AllowsConnect("api.nuget.org", 443));
        Assert.True(model.AllowsUnixSocket("network-outbound", Private + "/tmp/dotnet-diagnostic-1-2-socket"));
        Assert.True(model.AllowsUnixSocket("network-bind", Private + "/tmp/MSBuild1234"));
        foreach (var hostSocket in new[] { "/private/var/run/mDNSResponder", "/var/run/docker.sock", "/private/tmp/MSBuild1234", "/private/tmp/com.apple.launchd.abc/Listeners" })
        {
            Assert.False(model.AllowsUnixSocket("network-outbound", hostSocket), hostSocket);
            Assert.False(model.AllowsUnixSocket("network-bind", hostSocket), hostSocket);
        }
    }

    [Theory]
    [InlineData(NetworkMode.Filtered)]
    [InlineData(NetworkMode.Audit)]
    public void With_network_only_the_proxy_port_on_loopback_is_reachable(NetworkMode mode)
    {
        var model = Model(TestHosts.Policy(new ExecOptions { NetworkMode = mode, ProxyPort = 41234 }, TestHosts.Create(WithRepository())));
        Assert.True(model.AllowsConnect("localhost", 41234));
        Assert.False(model.AllowsConnect("localhost", 3128));
        Assert.False(model.AllowsConnect("localhost", 22));
        Assert.False(model.AllowsConnect("api.nuget.org", 443));
        Assert.False(model.AllowsConnect("169.254.169.254", 80));
        Assert.False(model.AllowsUnixSocket("network-outbound", "/private/var/run/mDNSResponder"));
        Assert.False(model.Allows("network-bind", "/"));
        Assert.False(model.Allows("network-inbound", "/"));
    }

    [Fact]
    public void Network_modes_through_the_proxy_need_its_port()
    {
        var policy = Policy(new NetworkPolicy(NetworkMode.Filtered, [], [], "test", ProxyPort: 0), Rule("/data", PathAccess.ReadWrite));
        Assert.Throws<ArgumentException>(() => Render(policy));
    }

    [Fact]
    public void Escape_hatches_stay_closed()
    {
        var model = Model();
        Assert.False(model.Allows("file-ioctl", "/dev/tty"));
        Assert.True(model.Allows("file-write-data", "/dev/tty"));
        Assert.True(model.Allows("file-write-data", "/dev/null"));
        Assert.False(model.Allows("file-link", Project + "/link-to-config"));
        Assert.False(model.Allows("file-clone", Project + "/clone"));
        Assert.False(model.Allows("ipc-posix-shm-read-data", "/"));
        Assert.False(model.Allows("sysctl-write", "/"));
        Assert.False(model.AllowsNamed("sysctl-read", "sysctl-name", "kern.procargs2"));
        Assert.True(model.AllowsNamed("sysctl-read", "sysctl-name", "hw.memsize"));
        Assert.True(model.AllowsNamed("sysctl-read", "sysctl-name", "hw.optional.arm.FEAT_LSE"));
        Assert.True(model.AllowsNamed("mach-lookup", "global-name", "com.apple.system.opendirectoryd.libinfo"));
        Assert.False(model.AllowsNamed("mach-lookup", "global-name", "com.apple.coreservices.launchservicesd"));
        Assert.False(model.AllowsNamed("mach-lookup", "global-name", "com.apple.SecurityServer"));
        Assert.False(model.Allows("process-exec", TestHosts.Home + "/.local/bin/tool"));
        Assert.True(model.Allows("process-exec", "/usr/share/dotnet/dotnet"));
    }

    [Fact]
    public void Symbolic_links_into_private_are_covered_in_both_spellings()
    {
        Assert.Equal(["/tmp/x", "/private/tmp/x"], SeatbeltProfile.Forms("/tmp/x"));
        Assert.Equal(["/private/var/folders", "/var/folders"], SeatbeltProfile.Forms("/private/var/folders"));
        Assert.Equal(["/etc", "/private/etc"], SeatbeltProfile.Forms("/etc"));
        Assert.Equal(["/Users/dev"], SeatbeltProfile.Forms("/Users/dev"));
        Assert.Equal(["/tmpfoo"], SeatbeltProfile.Forms("/tmpfoo"));
        Assert.Equal("/private/etc/hosts", SeatbeltProfile.Canonical("/etc/hosts"));
    }
}
