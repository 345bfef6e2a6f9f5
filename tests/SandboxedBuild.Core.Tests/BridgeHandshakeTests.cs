using System.Collections.Immutable;
using System.Net.Sockets;
using System.Text;
using SandboxedBuild.Network;

namespace SandboxedBuild.Core.Tests;

/// <summary>
/// The bridge's ready handshake on the proxy's socket, and how its absence shows in a run's result:
/// the bridge failing is SBX6011 with 125, never the status bubblewrap happened to end with.
/// </summary>
public sealed class BridgeHandshakeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sbx-bridge-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_bridges_messages_cannot_be_taken_for_a_request_or_a_passed_connection()
    {
        Assert.True(Bridge.IsControl(Bridge.ReadyMessage));
        Assert.True(Bridge.IsControl(Bridge.FailurePrefix));
        Assert.Null(Bridge.ForwardedPort(Bridge.ReadyMessage));
        foreach (var request in new[] { "CONNECT a:443 HTTP/1.1\r\n", "GET http://a/ HTTP/1.1\r\n", "F", "T5432", string.Empty })
        {
            Assert.False(Bridge.IsControl(Encoding.ASCII.GetBytes(request)), request);
        }

        Assert.Null(Bridge.FailureReason(Bridge.ReadyMessage));
        Assert.Equal("no port", Bridge.FailureReason([.. Bridge.FailurePrefix, .. "no port"u8]));
        Assert.Equal(Bridge.MaxReasonBytes, Bridge.FailureReason([.. Bridge.FailurePrefix, .. new byte[10_000].AsSpan().ToArray().Select(_ => (byte)'x')])!.Length);
    }

    [Fact]
    public void The_host_names_the_bridge_a_native_file_or_an_assembly_on_the_jit()
    {
        var native = BridgeMounts.For("/opt/tool/dotnet-sandbox-bridge", "/run/user/1/dotnet-sandbox-x");
        Assert.Equal("/run/user/1/dotnet-sandbox-x", native.HostSocketDirectory);
        Assert.Equal([("/opt/tool/dotnet-sandbox-bridge", "/run/dotnet-sandbox/tool/dotnet-sandbox-bridge")], native.Tool);
        Assert.Equal(["/run/dotnet-sandbox/tool/dotnet-sandbox-bridge"], native.Launcher);

        var jit = BridgeMounts.For("/src/bin/dotnet-sandbox-bridge.dll", "/tmp/s");
        Assert.Equal([("/src/bin", "/run/dotnet-sandbox/tool")], jit.Tool);
        Assert.Equal(2, jit.Launcher.Count);
        Assert.Equal("dotnet", Path.GetFileName(jit.Launcher[0]));
        Assert.Equal("/run/dotnet-sandbox/tool/dotnet-sandbox-bridge.dll", jit.Launcher[1]);

        Assert.Throws<ArgumentException>(() => BridgeMounts.For("dotnet-sandbox-bridge", "/tmp/s"));
        Assert.Throws<ArgumentException>(() => BridgeMounts.For(string.Empty, "/tmp/s"));
    }

    [Fact]
    public void A_run_whose_bridge_said_ready_keeps_the_commands_status()
    {
        var result = new RunResult(3, TimeSpan.Zero, [], []);
        Assert.Same(result, BridgeOutcome.Apply(result, ready: true, failure: null));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(132)]
    public void A_run_whose_bridge_never_said_ready_is_SBX6011_whatever_the_status(int status)
    {
        var result = BridgeOutcome.Apply(new RunResult(status, TimeSpan.Zero, [], []), ready: false, failure: null);
        Assert.Equal(125, result.ExitCode);
        var warning = Assert.Single(result.Warnings);
        Assert.StartsWith("SBX6011: the bridge did not start: it never said it was ready", warning.ToString(), StringComparison.Ordinal);
        Assert.Contains($"status {status}, which is not the command's", warning.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_failure_the_bridge_reports_wins_over_ready_and_is_named()
    {
        var result = BridgeOutcome.Apply(new RunResult(0, TimeSpan.Zero, [Errors.Errors.AuditMode.With()], []), ready: true, failure: "it could not listen on 127.0.0.1:3128: Address already in use");
        Assert.Equal(125, result.ExitCode);
        Assert.Equal("SBX6004", result.Warnings[0].Code);
        Assert.Equal("SBX6011", result.Warnings[1].Code);
        Assert.Contains("the bridge did not start: it could not listen on 127.0.0.1:3128: Address already in use.", result.Warnings[1].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_proxy_records_ready_and_the_first_failure_and_answers_each()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("unix sockets as the bridge uses them are Linux-only here");
        }

        var proxy = Start();
        try
        {
            Assert.False(proxy.BridgeReady);
            Assert.Equal(Bridge.Acknowledgement, Say(proxy, Bridge.ReadyMessage));
            Assert.True(proxy.BridgeReady);
            Assert.Null(proxy.BridgeFailure);

            // Whoever sends them, later messages cannot take a failure back: the first reason stays.
            Assert.Equal(Bridge.Acknowledgement, Say(proxy, [.. Bridge.FailurePrefix, .. "first\ndotnet-sandbox: forged line"u8]));
            Assert.Equal(Bridge.Acknowledgement, Say(proxy, [.. Bridge.FailurePrefix, .. "second"u8]));
            Assert.Equal(Bridge.Acknowledgement, Say(proxy, Bridge.ReadyMessage));
            Assert.Equal("first\\x0Adotnet-sandbox: forged line", proxy.BridgeFailure);
            Assert.True(proxy.BridgeReady);

            // None of it is a connection of the command's.
            Assert.Empty(proxy.Records);
        }
        finally
        {
            await proxy.DisposeAsync();
        }
    }

    [Fact]
    public async Task Anything_else_that_starts_like_a_message_of_the_bridge_is_closed_unanswered_and_counts_for_nothing()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("unix sockets as the bridge uses them are Linux-only here");
        }

        var proxy = Start();
        try
        {
            foreach (var message in new byte[][] { [0], [.. "\0dotnet-sandbox-bridge:ready!"u8], [.. "\0dotnet-sandbox-bridge:read"u8] })
            {
                Assert.Null(Say(proxy, message));
            }

            Assert.False(proxy.BridgeReady);
            Assert.Null(proxy.BridgeFailure);
            Assert.Empty(proxy.Records);
            Assert.Equal(125, BridgeOutcome.Apply(new RunResult(0, TimeSpan.Zero, [], []), proxy.BridgeReady, proxy.BridgeFailure).ExitCode);
        }
        finally
        {
            await proxy.DisposeAsync();
        }
    }

    private EgressProxy Start() =>
        EgressProxy.Start(new NetworkPolicy(NetworkMode.Filtered, [], ImmutableArray<HostRule>.Empty, "test"), Path.Combine(_directory, "proxy.sock"), new AddressGuard([]));

    /// <summary>Sends <paramref name="message"/> as the bridge does; the proxy's answer, or <see langword="null"/> when it closed without one.</summary>
    private static byte? Say(EgressProxy proxy, ReadOnlySpan<byte> message)
    {
        using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        unix.ReceiveTimeout = 10_000;
        unix.Connect(new UnixDomainSocketEndPoint(proxy.SocketPath));
        unix.Send(message);
        var answer = new byte[1];
        return unix.Receive(answer) == 1 ? answer[0] : null;
    }
}
