using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// Machines where bubblewrap cannot set a sandbox up, simulated by a <c>bwrap</c> stand-in first on
/// PATH that fails as the real one does there, with bubblewrap's own words (bubblewrap.c, network.c):
/// each is a coded error with its fix, exit 125, and the command never runs.
/// </summary>
public sealed class StartupFaultTests
{
    public static TheoryData<string, string, string> Complaints() => new()
    {
        // clone(CLONE_NEWUSER) refused: EPERM (Debian's kernel.unprivileged_userns_clone=0), ENOSPC
        // (user.max_user_namespaces=0), EINVAL (a kernel without user namespaces).
        { "No permissions to create a new namespace, likely because the kernel does not allow non-privileged user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'.", "SBX4003", "sudo sysctl kernel.unprivileged_userns_clone=1" },
        { "Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)", "SBX4003", "sudo sysctl user.max_user_namespaces=15000" },
        { "Creating new namespace failed, likely because the kernel does not support user namespaces.  bwrap must be installed setuid on such systems.", "SBX4003", "CONFIG_USER_NS" },
        // Ubuntu's kernel.apparmor_restrict_unprivileged_userns=1: the namespace has no capabilities.
        { "setting up uid map: Permission denied", "SBX4017", "sudo apparmor_parser -r /etc/apparmor.d/bwrap" },
        { "loopback: Failed RTM_NEWADDR: Operation not permitted", "SBX4017", "sudo apparmor_parser -r /etc/apparmor.d/bwrap" },
    };

    [Theory]
    [MemberData(nameof(Complaints))]
    public void Bubblewrap_refused_a_user_namespace_is_a_coded_error_with_the_fix(string complaint, string code, string fix)
    {
        using var ws = new Workspace(Identity.Current);
        var stub = Stub(ws, $"""
            #!/bin/sh
            if [ "$1" = --version ]; then echo 'bubblewrap 0.8.0'; exit 0; fi
            echo 'bwrap: {complaint.Replace("'", "'\\''", StringComparison.Ordinal)}' >&2
            exit 1
            """);
        var r = Cli.Run(Identity.Current, ws, ["exec", "--", "/bin/sh", "-c", ": > ran"], extraEnv: new Dictionary<string, string> { ["PATH"] = stub + ":/usr/bin:/bin" });
        AssertCoded(r, code, fix);
        Assert.Contains(complaint, r.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(ws.Project, "ran")));
        if (code == "SBX4017")
        {
            // The profile names the bwrap that is really run.
            Assert.Contains($"profile bwrap {stub}/bwrap flags=(unconfined)", r.StandardError, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_setup_failure_after_the_sandbox_init_is_reported_is_not_passed_off_as_the_command_s_exit_status(Identity id)
    {
        // As under AppArmor's restriction: bubblewrap reports the sandbox's init on its status
        // descriptor, fails to write the uid map, and reports exit code 1 there, exactly as if the
        // command had exited 1.
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var stub = Stub(ws, """
            #!/bin/bash
            if [ "$1" = --version ]; then echo 'bubblewrap 0.8.0'; exit 0; fi
            fd=; prev=
            for a in "$@"; do [ "$prev" = --json-status-fd ] && fd=$a; prev=$a; done
            if [ -n "$fd" ]; then
              sleep 0.3 & child=$!
              echo "{ \"child-pid\": $child }" >&"$fd"
              wait
              echo 'bwrap: setting up uid map: Permission denied' >&2
              echo '{ "exit-code": 1 }' >&"$fd"
              exit 1
            fi
            echo 'bwrap: setting up uid map: Permission denied' >&2
            exit 1
            """);
        ws.FixOwnership();
        var r = Cli.Run(id, ws, ["exec", "--", "/bin/sh", "-c", ": > ran"], extraEnv: new Dictionary<string, string> { ["PATH"] = stub + ":/usr/bin:/bin" });
        AssertCoded(r, "SBX4017", "apparmor_parser");
        Assert.False(File.Exists(Path.Combine(ws.Project, "ran")));

        // The real bubblewrap runs the same command.
        var legit = Cli.Run(id, ws, ["exec", "--", "/bin/sh", "-c", ": > ran"]);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.True(File.Exists(Path.Combine(ws.Project, "ran")));
    }

    [Theory]
    [InlineData("setting up uid map: Permission denied", "SBX4017")]
    [InlineData("No permissions to create a new namespace, likely because the kernel does not allow non-privileged user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'.", "SBX4003")]
    public void Doctor_gives_the_same_diagnosis_as_a_failed_run(string complaint, string code)
    {
        using var ws = new Workspace(Identity.Current);
        var stub = Stub(ws, $"""
            #!/bin/sh
            if [ "$1" = --version ]; then echo 'bubblewrap 0.8.0'; exit 0; fi
            echo 'bwrap: {complaint.Replace("'", "'\\''", StringComparison.Ordinal)}' >&2
            exit 1
            """);
        var r = Cli.Run(Identity.Current, ws, ["doctor"], extraEnv: new Dictionary<string, string> { ["PATH"] = stub + ":/usr/bin:/bin" });
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains(code + ":", r.StandardOutput + r.StandardError, StringComparison.Ordinal);
        Assert.Contains(complaint, r.StandardOutput + r.StandardError, StringComparison.Ordinal);
    }

    private static string Stub(Workspace ws, string script)
    {
        var dir = Path.Combine(ws.Root, "stubbin");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "bwrap");
        File.WriteAllText(file, script.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(file, (UnixFileMode)Convert.ToInt32("755", 8));
        return dir;
    }

    private static void AssertCoded(CliResult r, string code, string fix)
    {
        Assert.True(r.ExitCode == 125, r.ToString());
        Assert.Contains(code + ":", r.StandardError, StringComparison.Ordinal);
        var hint = r.StandardError[r.StandardError.IndexOf("hint:", r.StandardError.IndexOf(code + ":", StringComparison.Ordinal), StringComparison.Ordinal)..];
        Assert.Contains(fix, hint, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
    }
}
