using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>The legitimate work the sandbox must keep allowing, and the exact pass-through of the command's I/O and status.</summary>
public sealed class MustWorkTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Project_obj_bin_and_private_temp_are_writable(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Sh(id, ws, "mkdir -p obj bin && echo a > obj/a && echo b > bin/b && cat Program.cs >/dev/null && echo t > /tmp/t && echo t > \"$TMPDIR/u\" && echo h > \"$HOME/h\" && echo ok");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("ok", r.StandardOutput, StringComparison.Ordinal);
        Assert.Equal("a\n", File.ReadAllText(Path.Combine(ws.Project, "obj", "a")));
        Assert.Equal("b\n", File.ReadAllText(Path.Combine(ws.Project, "bin", "b")));
        Assert.False(File.Exists(Path.Combine(ws.Home, "h")), "the private home must not write through to the host");
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Loopback_and_unix_sockets_work_inside(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Sh(id, ws,
            "socat TCP-LISTEN:5555,bind=127.0.0.1,reuseaddr SYSTEM:'echo tcp-pong' & " +
            "socat UNIX-LISTEN:/tmp/s.sock SYSTEM:'echo unix-pong' & " +
            "for i in 1 2 3 4 5 6 7 8 9 10; do [ -S /tmp/s.sock ] && break; sleep 0.1; done; " +
            "socat -T2 - TCP:127.0.0.1:5555,retry=20,interval=0.1 </dev/null; socat -T2 - UNIX-CONNECT:/tmp/s.sock </dev/null");
        Assert.Contains("tcp-pong", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("unix-pong", r.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Stdin_stdout_stderr_and_exit_status_pass_through(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Sh(id, ws, "read line; echo \"out:$line\"; echo err >&2; exit 42", stdin: "hello\n");
        Assert.Equal(42, r.ExitCode);
        Assert.Equal("out:hello\n", r.StandardOutput);
        Assert.Equal("err\n", r.StandardError);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Death_by_signal_is_reported_as_128_plus_the_signal(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Assert.Equal(143, Cli.Sh(id, ws, "kill -TERM $$").ExitCode);
        Assert.Equal(137, Cli.Sh(id, ws, "kill -KILL $$").ExitCode);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Ctrl_c_reaches_the_command_which_can_clean_up(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        // A long foreground child (sleep 30): the shell's trap runs only once the child is gone, so
        // the test passes only if the signal reaches the whole process group, as a terminal's would.
        using var process = Cli.Start(id, ws, ["exec", "--", "/bin/sh", "-c", "trap 'echo cleaned-up; exit 7' INT; echo ready; sleep 30; echo not-interrupted"]);
        try
        {
            Assert.Equal("ready", process.StandardOutput.ReadLine());
            Assert.Equal(0, Cli.Exec("kill", "-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).ExitCode);
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(10)), "SIGINT did not end the sandboxed command");
            Assert.Equal("cleaned-up", process.StandardOutput.ReadLine());
            Assert.Equal(7, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Widening_options_take_effect_and_are_visible_in_the_policy(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Sh(id, ws,
            $"cat '{ws.Sibling}/secret.txt' && echo extra > '{ws.Outside}/allowed.txt' && echo \"$GITHUB_TOKEN:$MODE\"",
            null,
            null,
            "--allow-read", ws.Sibling, "--allow-write", ws.Outside, "--env", "GITHUB_TOKEN", "--setenv", "MODE=ci");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"{ws.Bait}:ci", r.StandardOutput, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(ws.Outside, "allowed.txt")));
        Assert.Contains("SBX3004", r.StandardError, StringComparison.Ordinal); // the secret passed, loudly

        var policy = Cli.Run(id, ws, ["exec", "--print-policy", "--allow-read", ws.Sibling, "--allow-write", ws.Outside, "--env", "GITHUB_TOKEN"]);
        Assert.Equal(0, policy.ExitCode);
        Assert.Contains("--allow-read on the command line", policy.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("--allow-write on the command line", policy.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(ws.Bait, policy.StandardOutput, StringComparison.Ordinal);
    }
}
