using System.Diagnostics;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;

namespace SandboxedBuild.Core.Tests;

/// <summary>The pure parts of the signal relay, the namespace diagnosis and the writable-root and tmpfs checks.</summary>
public sealed class StartupFaultAndSignalTests
{
    [Theory]
    [InlineData("bwrap: setting up uid map: Permission denied", "SBX4017")]
    [InlineData("bwrap: setting up gid map: Permission denied", "SBX4017")]
    [InlineData("bwrap: error writing to setgroups: Permission denied", "SBX4017")]
    [InlineData("bwrap: loopback: Failed RTM_NEWADDR: Operation not permitted", "SBX4017")]
    [InlineData("bwrap: No permissions to create a new namespace, likely because the kernel does not allow non-privileged user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'.", "SBX4003")]
    [InlineData("bwrap: Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)", "SBX4003")]
    [InlineData("bwrap: Creating new namespace failed, likely because the kernel does not support user namespaces.  bwrap must be installed setuid on such systems.", "SBX4003")]
    // A look-alike that is not bubblewrap's text is not taken for AppArmor's restriction.
    [InlineData("bwrap: setting up uid map: Operation not permitted", "SBX4003")]
    public void Bubblewrap_s_own_texts_choose_the_code(string complaint, string code)
    {
        var error = Bubblewrap.NamespaceFailure("/usr/bin/bwrap", complaint);
        Assert.Equal(code, error.Error.Code);
        Assert.Contains(complaint, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_AppArmor_fix_names_the_profile_for_the_real_bwrap()
    {
        var dir = Directory.CreateTempSubdirectory("sbx-apparmor-");
        try
        {
            var real = Path.Combine(dir.FullName, "bwrap-real");
            File.WriteAllText(real, "#!/bin/sh\n");
            var link = Path.Combine(dir.FullName, "bwrap");
            File.CreateSymbolicLink(link, real);
            var text = Bubblewrap.NamespaceFailure(link, "bwrap: setting up uid map: Permission denied").Message;
            Assert.Contains($"profile bwrap {real} flags=(unconfined) {{ userns, }}", text, StringComparison.Ordinal);
            Assert.Contains("apparmor_parser -r /etc/apparmor.d/bwrap", text, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(2, 130, "SIGINT")]
    [InlineData(15, 143, "SIGTERM")]
    [InlineData(1, 129, "SIGHUP")]
    [InlineData(3, 131, "SIGQUIT")]
    public void Signals_map_to_128_plus_N(int signal, int status, string name)
    {
        Assert.Equal(status, SignalRelay.ExitStatusFor(signal));
        Assert.Equal(name, SignalRelay.Name(signal));
    }

    [Fact]
    public void Descendants_are_found_by_generation_through_proc()
    {
        // sh, and below it sleep: one generation down from sh, none two down.
        using var child = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "sleep 30 & wait"]))!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            int? sleeper;
            while ((sleeper = SignalRelay.FindDescendant(child.Id, 1)) is null && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(10);
            }

            Assert.Equal(child.Id, SignalRelay.FindDescendant(child.Id, 0));
            Assert.NotNull(sleeper);
            Assert.Contains("sleep", File.ReadAllText($"/proc/{sleeper}/cmdline"), StringComparison.Ordinal);
            Assert.Null(SignalRelay.FindDescendant(child.Id, 2));
        }
        finally
        {
            child.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void Statvfs_reads_a_mount()
    {
        Assert.False(TmpfsWatch.IsFull("/proc"));
        Assert.Null(TmpfsWatch.IsFull("/does/not/exist"));
    }

    [Fact]
    public void Every_new_code_renders_with_a_hint()
    {
        foreach (var code in new[] { Errors.Errors.InterruptedBeforeStart, Errors.Errors.SandboxKilledOnRepeat, Errors.Errors.AppArmorUserNamespaceRestricted, Errors.Errors.WritableDirectoryRemoved, Errors.Errors.PrivateTmpfsFull })
        {
            var text = code.Format("a", "b", "c");
            Assert.Contains(code.Code + ":", text, StringComparison.Ordinal);
            Assert.Contains("hint:", text, StringComparison.Ordinal);
        }
    }
}
