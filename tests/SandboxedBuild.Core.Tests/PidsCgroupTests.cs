using SandboxedBuild.Linux;
using SandboxedBuild.Policy;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Core.Tests;

/// <summary>
/// Where a pids cgroup per sandbox goes, decided from <c>/proc/self/mountinfo</c> and
/// <c>/proc/self/cgroup</c> as the kernel writes them, and what the bounds then say.
/// </summary>
public sealed class PidsCgroupTests
{
    private const string V1Pids = "35 30 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids";
    private const string V1Memory = "34 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory";
    private const string V2 = "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot";

    [Fact]
    public void On_cgroup_v1_the_cgroup_goes_below_the_callers_own_pids_cgroup_when_it_may_write_there()
    {
        string[] cgroups = ["9:name=systemd:/user.slice", "8:pids:/user.slice/user-0.slice/session-3.scope", "4:memory:/x"];
        var (parent, why) = PidsCgroup.FindParent([V1Memory, V1Pids], cgroups, callerIsRoot: true, _ => true, _ => null);
        Assert.Equal("/sys/fs/cgroup/pids/user.slice/user-0.slice/session-3.scope", parent);
        Assert.Contains("cgroup v1 pids", why, StringComparison.Ordinal);

        // Where the caller may not write (an unprivileged user on v1): none, and the reason names the directory.
        var denied = PidsCgroup.FindParent([V1Pids], cgroups, callerIsRoot: false, _ => false, _ => null);
        Assert.Null(denied.Parent);
        Assert.Contains("may not make cgroups in /sys/fs/cgroup/pids/user.slice/user-0.slice/session-3.scope", denied.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_only_mount_a_foreign_root_or_no_pids_line_gives_no_parent()
    {
        var readOnly = V1Pids.Replace(" rw,nosuid", " ro,nosuid", StringComparison.Ordinal);
        Assert.Null(PidsCgroup.FindParent([readOnly], ["8:pids:/"], true, _ => true, _ => null).Parent);

        // The hierarchy's mounted root is /lxc/c1; a process whose cgroup lies outside it cannot be placed below it.
        var container = V1Pids.Replace(" / /sys", " /lxc/c1 /sys", StringComparison.Ordinal);
        Assert.Null(PidsCgroup.FindParent([container], ["8:pids:/lxc/c2"], true, _ => true, _ => null).Parent);
        Assert.Null(PidsCgroup.FindParent([container], ["8:pids:/lxc/c10"], true, _ => true, _ => null).Parent);
        Assert.Equal("/sys/fs/cgroup/pids/inner", PidsCgroup.FindParent([container], ["8:pids:/lxc/c1/inner"], true, _ => true, _ => null).Parent);
        Assert.Equal("/sys/fs/cgroup/pids", PidsCgroup.FindParent([container], ["8:pids:/lxc/c1"], true, _ => true, _ => null).Parent);

        Assert.Null(PidsCgroup.FindParent([V1Pids], ["4:memory:/"], true, _ => true, _ => null).Parent);
        Assert.Null(PidsCgroup.FindParent([V1Memory], ["4:memory:/"], true, _ => true, _ => null).Parent);
        Assert.Null(PidsCgroup.FindParent(null, ["8:pids:/"], true, _ => true, _ => null).Parent);
    }

    [Fact]
    public void On_cgroup_v2_only_root_gets_one_below_the_hierarchy_root_and_only_with_pids_enabled_there()
    {
        string[] cgroups = ["0::/user.slice/user-0.slice/session-1.scope"];
        var enabled = PidsCgroup.FindParent([V2], cgroups, true, _ => true, f => f == "/sys/fs/cgroup/cgroup.subtree_control" ? "cpuset cpu io memory pids" : null);
        Assert.Equal("/sys/fs/cgroup", enabled.Parent);

        var notEnabled = PidsCgroup.FindParent([V2], cgroups, true, _ => true, _ => "cpu io memory");
        Assert.Null(notEnabled.Parent);
        Assert.Contains("pids controller is not enabled", notEnabled.Why, StringComparison.Ordinal);

        // "pidsx" is not "pids".
        Assert.Null(PidsCgroup.FindParent([V2], cgroups, true, _ => true, _ => "pidsx").Parent);

        var user = PidsCgroup.FindParent([V2], ["0::/user.slice/user-1000.slice/session-2.scope"], false, _ => true, _ => "pids");
        Assert.Null(user.Parent);
        Assert.Contains("systemd user scope", user.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void Mount_points_are_unescaped_as_mountinfo_escapes_them()
    {
        Assert.Equal("/sys/fs/cgroup/my pids", MountInfo.Unescape(@"/sys/fs/cgroup/my\040pids"));
        Assert.Equal(@"a\b", MountInfo.Unescape(@"a\134b"));
        Assert.Equal(@"trailing\04", MountInfo.Unescape(@"trailing\04"));
        var spaced = @"35 30 0:30 / /sys/fs/cgroup/my\040pids rw - cgroup cgroup rw,pids";
        Assert.Equal("/sys/fs/cgroup/my pids", PidsCgroup.FindParent([spaced], ["8:pids:/"], true, _ => true, _ => null).Parent);
    }

    [Fact]
    public void With_a_cgroup_the_bound_holds_for_root_and_says_what_holds_it()
    {
        var root = ResourceBounds.For(null, null, 100, callerIsRoot: true, pidsCgroupParent: "/sys/fs/cgroup/pids");
        Assert.True(root.ProcessBoundEnforced);
        Assert.Equal("a pids cgroup per sandbox below /sys/fs/cgroup/pids", root.ProcessBoundBy);

        var user = ResourceBounds.For(null, null, 100, callerIsRoot: false, pidsCgroupParent: "/sys/fs/cgroup/pids");
        Assert.Equal("a pids cgroup per sandbox below /sys/fs/cgroup/pids, and RLIMIT_NPROC", user.ProcessBoundBy);

        Assert.False(ResourceBounds.For(null, null, 100, callerIsRoot: true).ProcessBoundEnforced);
        Assert.StartsWith("nothing:", ResourceBounds.For(null, null, 100, callerIsRoot: true).ProcessBoundBy, StringComparison.Ordinal);
        Assert.StartsWith("RLIMIT_NPROC", ResourceBounds.For(null, null, 100, callerIsRoot: false).ProcessBoundBy, StringComparison.Ordinal);
    }
}

/// <summary>A real pids cgroup, where this process may make one (root on a cgroup v1 pids hierarchy in CI).</summary>
public sealed class PidsCgroupKernelTests
{
    [Fact]
    public void A_cgroup_holds_its_bound_counts_a_joined_process_and_is_removed_once_empty()
    {
        var (parent, why) = PidsCgroup.FindParent(Environment.IsPrivilegedProcess);
        Assert.SkipWhen(parent is null, "no pids cgroup can be made here: " + why);

        System.Diagnostics.Process child;
        string dir;
        using (var cgroup = PidsCgroup.Create(parent!, 3))
        {
            dir = cgroup.Directory;
            Assert.Equal("3", File.ReadAllText(Path.Join(dir, "pids.max")).Trim());
            child = System.Diagnostics.Process.Start("sleep", "30");
            cgroup.Join(child.Id);
            Assert.Equal("1", File.ReadAllText(Path.Join(dir, "pids.current")).Trim());
            Assert.Contains("/" + Path.GetFileName(dir), File.ReadAllText($"/proc/{child.Id}/cgroup"), StringComparison.Ordinal);

            // A cgroup that holds a task is never removed as stale, however old.
            File.SetLastWriteTimeUtc(dir, DateTime.UtcNow.AddHours(-2));
            PidsCgroup.RemoveStale(parent!);
            Assert.True(Directory.Exists(dir));
            child.Kill();
            child.WaitForExit();
        }

        Assert.False(Directory.Exists(dir), "the run's cgroup was left behind");
        Assert.Throws<IOException>(() => PidsCgroup.Create(Path.Join(parent!, "no-such-cgroup"), 3));
    }

    [Fact]
    public void Stale_empty_cgroups_of_killed_runs_are_removed_and_fresh_ones_are_left_for_their_run()
    {
        var (parent, why) = PidsCgroup.FindParent(Environment.IsPrivilegedProcess);
        Assert.SkipWhen(parent is null, "no pids cgroup can be made here: " + why);
        var stale = Path.Join(parent!, PidsCgroup.NamePrefix + "stale" + Guid.NewGuid().ToString("N")[..7]);
        var fresh = Path.Join(parent!, PidsCgroup.NamePrefix + "fresh" + Guid.NewGuid().ToString("N")[..7]);
        var other = Path.Join(parent!, "not-ours-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(stale);
        Directory.CreateDirectory(fresh);
        Directory.CreateDirectory(other);
        try
        {
            File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-2));
            File.SetLastWriteTimeUtc(other, DateTime.UtcNow.AddHours(-2));
            using (PidsCgroup.Create(parent!, 10))
            {
                Assert.False(Directory.Exists(stale), "an empty cgroup of a killed run was left");
                Assert.True(Directory.Exists(fresh), "a cgroup a run just made (and has not joined yet) was removed");
                Assert.True(Directory.Exists(other), "a cgroup not made by the tool was removed");
            }
        }
        finally
        {
            foreach (var dir in new[] { stale, fresh, other })
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir);
                }
            }
        }
    }
}
