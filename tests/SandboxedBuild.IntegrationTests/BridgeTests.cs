using System.Collections.Concurrent;
using SandboxedBuild.IntegrationTests.Infrastructure;
using SandboxedBuild.Interop;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;
using SandboxedBuild.Errors;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// The bridge as its own executable, named by whoever hosts the sandbox: this test process hosts
/// <see cref="SandboxRunner"/> itself (it is not dotnet-sandbox), and a bridge that does not start is
/// a coded sandbox failure (SBX6011, 125), never the status the sandbox happened to end with.
/// </summary>
public sealed class BridgeTests
{
    private const string Curl = "curl -sS --max-time 20 --noproxy '' -o /dev/null -w '%{http_code}\\n'";

    [Fact]
    public async Task A_second_host_runs_networked_sandboxes_concurrently_with_the_bridge_it_names()
    {
        using var ws = new Workspace(Identity.Current);
        using var server = new LoopbackHttpServer();
        var blocked = new ConcurrentBag<string>();
        var host = HostFacts.Current(ws.Project) with { HomeDirectory = ws.Home };
        var bwrap = Bubblewrap.Require(host.Variables, host.FileSystem);
        var runner = new SandboxRunner(host.FileSystem, Cli.BridgeAssembly);

        // Each run reaches the allowed server through its own proxy, is refused a host of its own,
        // and exits with its own status.
        var runs = Enumerable.Range(1, 2).Select(i => Task.Run(() =>
        {
            var policy = ExecPolicyBuilder.Build(host, new ExecOptions { AllowHosts = [$"127.0.0.1:{server.Port}"] }, new List<Diagnostic>());
            var script = $"{Curl} -p http://127.0.0.1:{server.Port}/; {Curl} -p http://blocked-{i}.invalid/; exit {40 + i}";
            return runner.Run(bwrap, policy, ["/bin/sh", "-c", script], new NetworkHooks { OnBlocked = d => blocked.Add(d.Code + " " + d.Message) }, streams: CommandStreams.Discarded);
        })).ToList();
        var results = await Task.WhenAll(runs);

        for (var i = 1; i <= 2; i++)
        {
            var result = results[i - 1];
            Assert.True(result.ExitCode == 40 + i, $"exit {result.ExitCode}: {string.Join(" | ", result.Warnings)}");
            Assert.DoesNotContain(result.Warnings, w => w.ToString().Contains("SBX6011", StringComparison.Ordinal));
            Assert.Contains(result.Connections, c => c.Host == "127.0.0.1" && c.Port == server.Port && c.Allowed);
            var refused = Assert.Single(result.Connections, c => !c.Allowed);
            Assert.Equal($"blocked-{i}.invalid", refused.Host);
            Assert.Contains(blocked, m => m.StartsWith("SBX6013 blocked: ", StringComparison.Ordinal) && m.Contains($"blocked-{i}.invalid", StringComparison.Ordinal));
        }
    }

    public static TheoryData<string, int> NotBridges => new()
    {
        // Exits 1 at once, as a command might.
        { "/bin/false", 1 },
        // The dotnet muxer, which is what a host that is not dotnet-sandbox used to run as the bridge ("cannot execute dotnet when renamed").
        { "dotnet-muxer", 132 },
        // A script that exits with a status the command could have had.
        { "script", 42 },
    };

    [Theory]
    [MemberData(nameof(NotBridges))]
    public void A_bridge_that_does_not_start_is_SBX6011_not_its_status(string bridge, int status)
    {
        using var ws = new Workspace(Identity.Current);
        var path = bridge switch
        {
            "dotnet-muxer" => DotnetMuxer(),
            "script" => Script(ws, "#!/bin/sh\nexit 42\n"),
            _ => bridge,
        };
        var host = HostFacts.Current(ws.Project) with { HomeDirectory = ws.Home };
        var bwrap = Bubblewrap.Require(host.Variables, host.FileSystem);
        var policy = ExecPolicyBuilder.Build(host, new ExecOptions(), new List<Diagnostic>());

        var result = new SandboxRunner(host.FileSystem, path).Run(bwrap, policy, ["/bin/true"], streams: CommandStreams.Discarded);

        Assert.True(result.ExitCode == 125, $"exit {result.ExitCode}: {string.Join(" | ", result.Warnings)}");
        var warning = Assert.Single(result.Warnings, w => w.ToString().StartsWith("SBX6011: the bridge did not start: it never said it was ready", StringComparison.Ordinal));
        Assert.Contains($"The sandbox ended with status {status}, which is not the command's.", warning.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_networked_run_without_an_existing_bridge_is_SBX6012_before_anything_runs()
    {
        using var ws = new Workspace(Identity.Current);
        var host = HostFacts.Current(ws.Project) with { HomeDirectory = ws.Home };
        var bwrap = Bubblewrap.Require(host.Variables, host.FileSystem);
        var policy = ExecPolicyBuilder.Build(host, new ExecOptions(), new List<Diagnostic>());
        var marker = Path.Combine(ws.Project, "ran");
        foreach (var bridge in new[] { null, Path.Combine(ws.Outside, "no-such-bridge"), "dotnet-sandbox-bridge" })
        {
            var ex = Assert.Throws<Errors.SandboxException>(() => new SandboxRunner(host.FileSystem, bridge).Run(bwrap, policy, ["/bin/touch", marker], streams: CommandStreams.Discarded));
            Assert.Equal("SBX6012", ex.Error.Code);
            Assert.Equal(125, ex.ExitCode);
        }

        Assert.False(File.Exists(marker));

        // Without network, no bridge is needed.
        var plain = ExecPolicyBuilder.Build(host, new ExecOptions { NetworkMode = Network.NetworkMode.None }, new List<Diagnostic>());
        Assert.Equal(0, new SandboxRunner(host.FileSystem).Run(bwrap, plain, ["/bin/true"], streams: CommandStreams.Discarded).ExitCode);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_ready_forged_by_the_command_changes_nothing_and_a_forged_failure_fails_only_its_own_run(Identity id)
    {
        Cli.SkipIfRedundant(id);
        if (!File.Exists("/usr/bin/python3"))
        {
            Assert.Skip("needs /usr/bin/python3 inside the sandbox to talk to the proxy's socket by hand");
        }

        using var ws = new Workspace(id);
        File.WriteAllText(Path.Combine(ws.Project, "say.py"), """
            import socket, sys
            proxy = socket.socket(socket.AF_UNIX)
            proxy.connect("/run/dotnet-sandbox/net/proxy.sock")
            proxy.sendall(sys.argv[1].encode().replace(b"NUL", b"\0"))
            proxy.settimeout(10)
            print("answered" if proxy.recv(1) == b"K" else "closed")
            """);
        ws.FixOwnership();

        var ready = Cli.Sh(id, ws, "/usr/bin/python3 say.py NULdotnet-sandbox-bridge:ready; /usr/bin/python3 say.py NULdotnet-sandbox-bridge:ready; exit 7");
        Assert.True(ready.ExitCode == 7 && ready.StandardOutput == "answered\nanswered\n", ready.ToString());
        Assert.DoesNotContain("SBX6011", ready.StandardError, StringComparison.Ordinal);

        var failed = Cli.Sh(id, ws, "/usr/bin/python3 say.py 'NULdotnet-sandbox-bridge:failed:forged by the command'; exit 0");
        Assert.True(failed.ExitCode == 125, failed.ToString());
        Assert.Contains("SBX6011: the bridge did not start: forged by the command. The sandbox ended with status 0", failed.StandardError, StringComparison.Ordinal);
    }

    private static string DotnetMuxer()
    {
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileName(p) == "dotnet"
            ? p
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "/usr/bin/dotnet";
        return Path.GetFullPath(new FileInfo(dotnet).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dotnet);
    }

    internal static string Script(Workspace ws, string text)
    {
        var path = Path.Combine(ws.Outside, "not-a-bridge");
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }
}
