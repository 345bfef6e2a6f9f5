using System.Text.Json;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Policy;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Core.Tests;

public sealed class ResourceBoundsTests
{
    [Theory]
    [InlineData("1048576", 1L << 20)]
    [InlineData("512M", 512L << 20)]
    [InlineData("512m", 512L << 20)]
    [InlineData("2G", 2L << 30)]
    [InlineData("4096K", 4L << 20)]
    [InlineData("1T", 1L << 40)]
    public void Sizes_in_bytes_or_with_a_binary_suffix_are_accepted(string value, long bytes) =>
        Assert.Equal(bytes, ResourceBounds.ParseSize(value));

    [Theory]
    [InlineData("")]
    [InlineData("M")]
    [InlineData("0")]
    [InlineData("4096")]
    [InlineData("-1G")]
    [InlineData("+1G")]
    [InlineData("1.5G")]
    [InlineData("1GB")]
    [InlineData("0x100000")]
    [InlineData("1 G")]
    [InlineData("99999999999999999999")]
    [InlineData("9000000000T")]
    public void Malformed_tiny_or_overflowing_sizes_are_refused_with_SBX1013(string value)
    {
        var ex = Assert.Throws<SandboxException>(() => ResourceBounds.ParseSize(value, TestWordings.Option));
        Assert.Equal("SBX1013", ex.Error.Code);
        Assert.Contains("--tmpfs-size", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the setting 'tmpfs-size'", Assert.Throws<SandboxException>(() => ResourceBounds.ParseSize(value)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("50", 50)]
    [InlineData("4194304", 4194304)]
    public void Process_bounds_from_one_up_are_accepted(string value, int expected) =>
        Assert.Equal(expected, ResourceBounds.ParseMaxProcesses(value));

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("")]
    [InlineData("ten")]
    [InlineData("4194305")]
    [InlineData("99999999999")]
    [InlineData("1e3")]
    public void Zero_negative_huge_or_malformed_process_bounds_are_refused_with_SBX1013(string value)
    {
        var ex = Assert.Throws<SandboxException>(() => ResourceBounds.ParseMaxProcesses(value, TestWordings.Option));
        Assert.Equal("SBX1013", ex.Error.Code);
        Assert.Contains("--max-processes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the setting 'max-processes'", Assert.Throws<SandboxException>(() => ResourceBounds.ParseMaxProcesses(value)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8L << 30, 512L << 20)]
    [InlineData(24L << 30, 1536L << 20)]
    [InlineData(64L << 30, 2L << 30)]
    [InlineData(1L << 40, 2L << 30)]
    [InlineData(8L << 20, 1L << 20)]
    public void The_default_tmpfs_is_the_smaller_of_2_GiB_and_a_sixteenth_of_memory(long memory, long expected) =>
        Assert.Equal(expected, ResourceBounds.For(memory, null, null, callerIsRoot: false).TmpfsBytes);

    [Fact]
    public void Unknown_memory_gives_a_small_default_and_explicit_values_win()
    {
        Assert.Equal(ResourceBounds.UnknownMemoryTmpfs, ResourceBounds.For(null, null, null, false).TmpfsBytes);
        var asked = ResourceBounds.For(64L << 30, 16L << 20, 50, false, wording: TestWordings.Option);
        Assert.Equal((16L << 20, 50, "--tmpfs-size", "--max-processes"), (asked.TmpfsBytes, asked.MaxProcesses, asked.TmpfsReason, asked.MaxProcessesReason));
        var neutral = ResourceBounds.For(64L << 30, 16L << 20, 50, false);
        Assert.Equal(("the setting 'tmpfs-size'", "the setting 'max-processes'"), (neutral.TmpfsReason, neutral.MaxProcessesReason));
        Assert.Equal(ResourceBounds.DefaultMaxProcesses, ResourceBounds.For(null, null, null, false).MaxProcesses);
    }

    [Fact]
    public void Memory_is_read_from_meminfo_and_a_broken_file_gives_unknown()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "MemTotal:       24683584 kB\nMemFree:        22456944 kB\n");
            Assert.Equal(24683584L * 1024, ResourceBounds.ReadMemoryTotal(file));
            File.WriteAllText(file, "MemTotal:       lots kB\n");
            Assert.Null(ResourceBounds.ReadMemoryTotal(file));
            Assert.Null(ResourceBounds.ReadMemoryTotal(file + ".missing"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Every_writable_tmpfs_has_a_size_and_dev_is_read_only_after_its_mounts()
    {
        var policy = TestHosts.Policy(new ExecOptions { TmpfsSize = 16L << 20 });
        var args = BwrapCommandLine.Build(policy, ["true"], FakeFileSystem.Debian()).ToList();
        var scratch = policy.Paths.Where(r => r.Access == PathAccess.Scratch).Select(r => r.Path).ToList();
        Assert.Contains(TestHosts.Home, scratch);
        Assert.Contains("/tmp", scratch);
        Assert.Contains("/dev/shm", scratch);
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] != "--tmpfs")
            {
                continue;
            }

            var path = args[i + 1];
            if (scratch.Contains(path))
            {
                Assert.Equal(["--size", (16L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture)], args[(i - 2)..i]);
            }
            else
            {
                // A hidden directory: an empty tmpfs made read-only at once.
                Assert.Equal(["--remount-ro", path], args[(i + 2)..(i + 4)]);
            }
        }

        var devReadOnly = IndexOfPair(args, "--remount-ro", "/dev");
        Assert.True(devReadOnly > IndexOfPair(args, "--dev", "/dev"));
        Assert.True(devReadOnly > IndexOfPair(args, "--tmpfs", "/dev/shm"), "/dev must turn read-only after /dev/shm is mounted on it");
        Assert.True(devReadOnly < args.IndexOf("--"));
    }

    [Fact]
    public void The_root_turns_read_only_after_the_last_mount_point_is_made_in_it()
    {
        var args = BwrapCommandLine.Build(TestHosts.Policy(), ["true"], FakeFileSystem.Debian(), statusFd: 3, readyMarker: "/run/dotnet-sandbox/mounted-x").ToList();
        var rootReadOnly = IndexOfPair(args, "--remount-ro", "/");
        var options = args[..args.IndexOf("--")];
        string[] mountOps = ["--bind", "--ro-bind", "--tmpfs", "--dir", "--symlink", "--proc", "--dev", "--remount-ro"];
        Assert.True(rootReadOnly > IndexOfPair(args, "--dir", "/run/dotnet-sandbox/mounted-x"), "the ready marker must be made before the root turns read-only");
        // The last file system operation of all: every bind, tmpfs, link and directory is made before it.
        Assert.Equal(rootReadOnly, options.FindLastIndex(a => mountOps.Contains(a)));
    }

    [Fact]
    public void The_default_bounds_derive_from_the_host_and_show_in_text_and_json()
    {
        var policy = TestHosts.Policy();
        Assert.Equal(512L << 20, policy.Bounds.TmpfsBytes);
        Assert.Equal(ResourceBounds.DefaultMaxProcesses, policy.Bounds.MaxProcesses);
        Assert.Contains("each private tmpfs (home, /tmp, /var/tmp, /dev/shm): 512 MiB", PolicyWriter.ToText(policy), StringComparison.Ordinal);

        using var json = JsonDocument.Parse(PolicyWriter.ToJson(TestHosts.Policy(new ExecOptions { TmpfsSize = 2L << 30, MaxProcesses = 50 })));
        var bounds = json.RootElement.GetProperty("bounds");
        Assert.Equal(2L << 30, bounds.GetProperty("tmpfsBytes").GetInt64());
        Assert.Equal(50, bounds.GetProperty("maxProcesses").GetInt32());
        Assert.True(bounds.GetProperty("processBoundEnforced").GetBoolean());
    }

    [Fact]
    public void A_process_bound_asked_for_by_root_warns_SBX4008_and_says_it_is_not_enforced()
    {
        var root = TestHosts.Create() with { IsRoot = true };
        var warnings = new List<Diagnostic>();
        var asked = TestHosts.Policy(new ExecOptions { MaxProcesses = 50 }, root, warnings);
        Assert.False(asked.Bounds.ProcessBoundEnforced);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX4008", StringComparison.Ordinal) && w.ToString().Contains("--max-processes 50", StringComparison.Ordinal));
        Assert.Contains("NOT enforced", PolicyWriter.ToText(asked), StringComparison.Ordinal);

        // The default bound does not warn on every run of root; an unprivileged caller never does.
        var quiet = new List<Diagnostic>();
        _ = TestHosts.Policy(new ExecOptions(), root, quiet);
        _ = TestHosts.Policy(new ExecOptions { MaxProcesses = 50 }, TestHosts.Create(), quiet);
        Assert.DoesNotContain(quiet, w => w.ToString().Contains("SBX4008", StringComparison.Ordinal));

        // Where root may make a pids cgroup, the bound holds, and nothing warns.
        var withCgroup = TestHosts.Policy(new ExecOptions { MaxProcesses = 50 }, root with { PidsCgroupParent = "/sys/fs/cgroup/pids" }, quiet);
        Assert.True(withCgroup.Bounds.ProcessBoundEnforced);
        Assert.DoesNotContain(quiet, w => w.ToString().Contains("SBX4008", StringComparison.Ordinal));
        Assert.Contains("at most 50 at once  — --max-processes; held by a pids cgroup per sandbox below /sys/fs/cgroup/pids", PolicyWriter.ToText(withCgroup), StringComparison.Ordinal);
    }

    [Fact]
    public void The_process_limit_is_set_soft_and_hard_on_another_process_and_a_failure_is_reported()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "prlimit(2) is Linux only");
        using var child = System.Diagnostics.Process.Start("sleep", "30");
        try
        {
            Assert.Null(ProcessLimit.TrySet(child.Id, 77));
            var line = File.ReadLines($"/proc/{child.Id}/limits").Single(l => l.StartsWith("Max processes", StringComparison.Ordinal));
            Assert.Equal(["77", "77"], line["Max processes".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..2]);

            // No such process: the launcher turns this into SBX4007 and kills the sandbox.
            Assert.Contains("RLIMIT_NPROC", ProcessLimit.TrySet(int.MaxValue, 77), StringComparison.Ordinal);
        }
        finally
        {
            child.Kill();
        }
    }

    private static int IndexOfPair(List<string> args, string option, string value)
    {
        for (var i = 0; i < args.Count - 1; i++)
        {
            if (args[i] == option && args[i + 1] == value)
            {
                return i;
            }
        }

        return -1;
    }
}
