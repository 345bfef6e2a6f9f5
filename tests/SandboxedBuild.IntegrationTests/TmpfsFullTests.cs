using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// The sandbox's private /tmp filled past its --tmpfs-size bound: writes fail inside with ENOSPC,
/// the host's /tmp gets nothing, the tool neither hangs nor fails itself, passes the command's exit
/// status through, and says which private tmpfs filled up (SBX4019).
/// </summary>
public sealed class TmpfsFullTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_full_private_tmp_is_ENOSPC_inside_and_SBX4019_after_without_a_hang(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var name = "sbx-fill-" + Guid.NewGuid().ToString("N")[..12];

        // 8 MiB asked for, 8 MiB is the bound: dd fails, a small write after it fails too.
        var full = Cli.Run(id, ws, ["exec", "--tmpfs-size", "8M", "--", "/bin/sh", "-c",
            $"dd if=/dev/zero of=/tmp/{name} bs=1M count=64 2>/dev/null; echo dd=$?; sleep 0.6; echo x > /tmp/{name}.small 2>/dev/null; echo small=$?; exit 3"], timeoutSeconds: 60);
        Assert.True(full.ExitCode == 3, full.ToString());
        Assert.Contains("dd=1", full.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("small=", full.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("small=0", full.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("SBX4019:", full.StandardError, StringComparison.Ordinal);
        Assert.Contains("private /tmp filled up", full.StandardError, StringComparison.Ordinal);
        Assert.Contains("--tmpfs-size", full.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine("/tmp", name)), "the fill reached the host's /tmp");

        // Half the bound: everything fits, no warning.
        var fits = Cli.Run(id, ws, ["exec", "--tmpfs-size", "8M", "--", "/bin/sh", "-c",
            $"dd if=/dev/zero of=/tmp/{name} bs=1M count=4 2>/dev/null; echo dd=$?; sleep 0.6"], timeoutSeconds: 60);
        Assert.True(fits.ExitCode == 0, fits.ToString());
        Assert.Contains("dd=0", fits.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("SBX4019", fits.StandardError, StringComparison.Ordinal);
    }
}
