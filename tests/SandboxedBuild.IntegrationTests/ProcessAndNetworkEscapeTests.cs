using System.Net;
using System.Net.Sockets;
using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>Attacks through the environment, other processes, the terminal and the network.</summary>
public sealed class ProcessAndNetworkEscapeTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Secrets_in_the_environment_do_not_pass_not_even_through_proc(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Sh(id, ws, "env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n'; echo done");
        Assert.Contains("done", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(ws.Bait, r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("SSH_AUTH_SOCK", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("LANG=C.UTF-8", r.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Host_processes_are_invisible_and_cannot_be_signalled(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var hostPid = Environment.ProcessId;
        var r = Cli.Sh(id, ws, $"ls /proc | grep -c '^[0-9]'; kill -0 {hostPid} && echo SIGNALLED; true");
        Assert.DoesNotContain("SIGNALLED", r.StandardOutput, StringComparison.Ordinal);
        var visible = int.Parse(r.StandardOutput.Split('\n')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(visible, 1, 6); // the sandbox's init, sh, ls, grep
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Nothing_outlives_the_sandbox(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var marker = 40000 + Random.Shared.Next(20000);
        var r = Cli.Sh(id, ws, $"sleep {marker} & setsid sleep {marker + 1} & nohup sleep {marker + 2} >/dev/null 2>&1 & echo started");
        Assert.Contains("started", r.StandardOutput, StringComparison.Ordinal);
        Thread.Sleep(200);
        var left = Cli.Exec("pgrep", "-f", $"sleep ({marker}|{marker + 1}|{marker + 2})");
        Assert.True(left.ExitCode != 0, "processes outlived the sandbox: " + left.StandardOutput);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void The_sandbox_has_no_controlling_terminal_to_inject_into(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);

        // Run under a real pseudo-terminal: without --new-session the command could open /dev/tty
        // and push keystrokes into the caller's shell with TIOCSTI.
        var inner = Cli.ShellLine(Cli.CommandLine(id, ["exec", "--", "/bin/sh", "-c", "test -t 0 && echo STDIN_IS_TTY; if (exec 3</dev/tty) 2>/dev/null; then echo HAS_CONTROLLING_TTY; fi; echo end"]));
        var env = ws.Environment().Select(kv => $"{kv.Key}={Cli.Quote(kv.Value)}");
        var r = Cli.Exec("script", "-qec", $"cd {Cli.Quote(ws.Project)} && env -i {string.Join(' ', env)} {inner}", "/dev/null");
        Assert.Contains("STDIN_IS_TTY", r.StandardOutput, StringComparison.Ordinal); // the test does run on a terminal
        Assert.Contains("end", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("HAS_CONTROLLING_TTY", r.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Only_loopback_exists_and_host_loopback_services_are_unreachable(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var r = Cli.Sh(id, ws, $"cat /proc/net/dev; cat /proc/net/route; bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}' && echo CONNECTED; getent hosts api.nuget.org && echo RESOLVED; true");
        Assert.DoesNotContain("CONNECTED", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("RESOLVED", r.StandardOutput, StringComparison.Ordinal); // DNS alone can carry data out
        Assert.False(listener.Pending(), "a connection reached the host's loopback listener");
        var interfaces = r.StandardOutput.Split('\n').Where(l => l.Contains(':', StringComparison.Ordinal) && !l.Contains('|', StringComparison.Ordinal)).Select(l => l.Split(':')[0].Trim()).ToList();
        Assert.Equal(["lo"], interfaces);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Host_unix_sockets_are_unreachable_by_path_or_abstract_name(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var path = Path.Combine(ws.Root, "agent.sock");
        var abstractName = "sbx-it-" + Guid.NewGuid().ToString("N")[..8];
        using var pathSocket = Listen(new UnixDomainSocketEndPoint(path));
        using var abstractSocket = Listen(new UnixDomainSocketEndPoint("\0" + abstractName));
        if (Cli.IdsFor(id) is not null)
        {
            _ = Cli.Exec("chmod", "777", path);
        }

        var r = Cli.Sh(id, ws, $"echo hi | socat - UNIX-CONNECT:{path} && echo PATH_CONNECTED; echo hi | socat - ABSTRACT-CONNECT:{abstractName} && echo ABSTRACT_CONNECTED; ls /run/docker.sock /var/run/docker.sock /run/user; true");
        Assert.DoesNotContain("CONNECTED", r.StandardOutput, StringComparison.Ordinal);
        Assert.False(pathSocket.Poll(0, SelectMode.SelectRead), "the host's unix socket accepted a connection");
        Assert.False(abstractSocket.Poll(0, SelectMode.SelectRead), "the host's abstract socket accepted a connection");
    }

    private static Socket Listen(EndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(endPoint);
        socket.Listen();
        return socket;
    }
}
