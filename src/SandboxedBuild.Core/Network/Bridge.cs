using System.Net;
using System.Net.Sockets;
using SandboxedBuild.Linux;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Network;

/// <summary>
/// Runs inside the sandbox, in its network namespace: listens on a loopback port, relays every
/// connection to the egress proxy's unix socket (bind-mounted in from outside), and runs the
/// user's command as its child, exiting with the child's status. This is the only path out.
/// </summary>
/// <remarks>
/// The sandbox has no network interface but loopback, so a process outside cannot listen inside
/// without entering the namespace (setns needs privileges an unprivileged caller lacks). A relay
/// started inside works for every caller. It listens before it starts the command, so the proxy
/// is there from the command's first instruction. If the proxy goes away, connecting to its socket
/// fails at once, and so does the command's connection: nothing hangs.
/// The bridge hands each connection over and keeps nothing of it, so when the proxy fails there is
/// nothing here to close: the proxy's sockets are the only ones left, and the proxy closes them all
/// at once (see <see cref="RelayMonitor"/>), or the kernel does when the tool's process dies (and
/// bubblewrap then takes the sandbox down). The proxy runs in the tool's process, so the tool knows
/// of the fault first-hand and reports it after the command (SBX6009, SBX6010); the bridge's exit
/// status stays the command's own.
/// Once it listens, and before it starts the command, the bridge tells the proxy it is ready on the
/// same socket (<see cref="ReadyMessage"/>) and waits for the proxy's answer; when it cannot listen
/// or start the command, it says why (<see cref="FailurePrefix"/>). A run whose bridge never said
/// it was ready, or said it failed, is SBX6011 whatever the exit status (see <see cref="BridgeOutcome"/>):
/// a program that is not the bridge, or one that died, cannot pass for the command's own status.
/// Anything inside can send these messages too, but only once the command runs, which is after the
/// real bridge said ready: a forged "ready" changes nothing, a forged failure fails only its own run.
/// The bridge is its own small executable (dotnet-sandbox-bridge) that every host names explicitly
/// (<see cref="BridgeMounts.For"/>).
/// </remarks>
public static class Bridge
{
    /// <summary>The hidden command word that starts the bridge.</summary>
    public const string CommandName = "__bridge";

    /// <summary>Where the proxy's socket directory appears inside the sandbox.</summary>
    public const string SocketDirectoryInside = "/run/dotnet-sandbox/net";

    /// <summary>The socket's file name.</summary>
    public const string SocketFileName = "proxy.sock";

    /// <summary>The arguments that start the bridge before <paramref name="command"/>.</summary>
    /// <param name="port">The proxy's port inside.</param>
    /// <param name="forwards">Loopback ports to forward to the host's loopback (see <see cref="NetworkPolicy.LoopbackForwards"/>).</param>
    /// <param name="command">The command.</param>
    public static IReadOnlyList<string> Arguments(int port, IEnumerable<int> forwards, IReadOnlyList<string> command) =>
        [CommandName, port.ToString(System.Globalization.CultureInfo.InvariantCulture), SocketDirectoryInside + "/" + SocketFileName,
            .. forwards.SelectMany(f => new[] { "--forward", f.ToString(System.Globalization.CultureInfo.InvariantCulture) }), "--", .. command];

    /// <summary>The forwarded loopback port a passed connection's message names, if it is a forward (<c>T</c> and the port).</summary>
    internal static int? ForwardedPort(ReadOnlySpan<byte> message) =>
        message.Length > 1 && message[0] == (byte)'T' && int.TryParse(message[1..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : null;

    /// <summary>
    /// What the bridge sends, without a descriptor, once it listens and before it starts the command.
    /// It starts with a NUL byte, which no HTTP request does (a method is a token of visible
    /// characters), and it carries no descriptor, unlike a passed connection (<c>F</c>, <c>T</c>PORT).
    /// </summary>
    internal static ReadOnlySpan<byte> ReadyMessage => "\0dotnet-sandbox-bridge:ready"u8;

    /// <summary>What the bridge sends, followed by the reason in UTF-8, when it cannot listen or start the command.</summary>
    internal static ReadOnlySpan<byte> FailurePrefix => "\0dotnet-sandbox-bridge:failed:"u8;

    /// <summary>The proxy's one-byte answer to a message of the bridge, sent once it is recorded.</summary>
    internal const byte Acknowledgement = (byte)'K';

    /// <summary>At most this many bytes of a failure's reason are kept.</summary>
    internal const int MaxReasonBytes = 512;

    /// <summary>How long the bridge waits for the proxy's answer.</summary>
    private static readonly TimeSpan AcknowledgementTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A message of the bridge (first byte NUL), as opposed to a request or a passed connection.</summary>
    internal static bool IsControl(ReadOnlySpan<byte> message) => message.Length > 0 && message[0] == 0;

    /// <summary>The reason a failure message carries, or <see langword="null"/> when <paramref name="message"/> is not one.</summary>
    internal static string? FailureReason(ReadOnlySpan<byte> message) =>
        message.StartsWith(FailurePrefix)
            ? System.Text.Encoding.UTF8.GetString(message[FailurePrefix.Length..][..Math.Min(message.Length - FailurePrefix.Length, MaxReasonBytes)])
            : null;

    /// <summary>Entry point of dotnet-sandbox-bridge: <c>__bridge PORT SOCKET [--forward PORT]... -- COMMAND [ARGS...]</c>.</summary>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] != CommandName)
        {
            Console.Error.WriteLine("dotnet-sandbox-bridge: runs inside the sandbox only, started by dotnet-sandbox (or another host of SandboxedBuild) on a networked run.");
            return Errors.ExitCodes.SandboxFailure;
        }

        return Serve(args[1..]);
    }

    private static int Serve(string[] args)
    {
        var separator = args.ToList().IndexOf("--");
        var forwards = new List<int>();
        for (var i = 2; separator > 2 && i + 1 < separator && args[i] == "--forward"; i += 2)
        {
            forwards.Add(int.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var f) ? f : -1);
        }

        if (args.Length < 4 || separator != 2 + (2 * forwards.Count) || separator + 1 >= args.Length || forwards.Contains(-1)
            || !int.TryParse(args[0], System.Globalization.CultureInfo.InvariantCulture, out var port))
        {
            Console.Error.WriteLine("dotnet-sandbox: internal: usage: __bridge PORT SOCKET [--forward PORT]... -- COMMAND [ARGS...]");
            return Errors.ExitCodes.SandboxFailure;
        }

        var socketPath = args[1];
        var command = args.Skip(separator + 1).ToList();
        Socket listener;
        try
        {
            listener = Listen(port);
        }
        catch (SocketException ex)
        {
            return Fail(socketPath, $"it could not listen on 127.0.0.1:{port}: {ex.Message}");
        }

        using var listening = listener;

        // Plain blocking calls on one thread per listener: the bridge starts on every networked run,
        // and this keeps the runtime's thread pool and socket event loop from starting at all.
        new Thread(() => AcceptLoop(listener, socketPath, "F"u8.ToArray()), 256 * 1024) { IsBackground = true, Name = "bridge-accept" }.Start();
        foreach (var forward in forwards)
        {
            var message = System.Text.Encoding.ASCII.GetBytes("T" + forward.ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (var address in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback })
            {
                Socket forwardListener;
                try
                {
                    forwardListener = Listen(forward, address);
                }
                catch (SocketException ex) when (address.Equals(IPAddress.IPv6Loopback))
                {
                    // No IPv6 loopback in this sandbox: clients fall back to 127.0.0.1.
                    _ = ex;
                    continue;
                }
                catch (SocketException ex)
                {
                    Console.Error.WriteLine($"dotnet-sandbox: warning: could not forward loopback port {forward} into the sandbox: {ex.Message}");
                    continue;
                }

                new Thread(() => AcceptLoop(forwardListener, socketPath, message), 256 * 1024) { IsBackground = true, Name = "bridge-forward" }.Start();
            }
        }

        // Signals for the command reach its whole process group, this process included: the bridge
        // ignores them (the child gets default dispositions back at spawn) and lets the command
        // decide; it ends when the command does.
        foreach (var signal in new[] { NativeMethods.SIGINT, NativeMethods.SIGTERM, NativeMethods.SIGHUP, NativeMethods.SIGQUIT })
        {
            NativeMethods.IgnoreSignal(signal);
        }

        var environment = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            environment.Add($"{e.Key}={e.Value}");
        }

        // Everything listens: say so, and start the command only once the proxy has it on record.
        if (!Tell(socketPath, ReadyMessage))
        {
            return Fail(socketPath, "the egress proxy did not answer its ready message");
        }

        int pid;
        try
        {
            pid = ChildProcess.Spawn(command[0], command, environment, CommandStreams.Inherited, newProcessGroup: false);
        }
        catch (Errors.SandboxException ex)
        {
            Console.Error.WriteLine("dotnet-sandbox: " + ex.Message);
            _ = Tell(socketPath, [.. FailurePrefix, .. System.Text.Encoding.UTF8.GetBytes("it could not start the command: " + ex.Message)]);
            return Errors.ExitCodes.CommandNotFound;
        }

        return ChildProcess.DecodeWaitStatus(ChildProcess.WaitForExit(pid));
    }

    /// <summary>Tells the proxy why the bridge stops, says it on stderr too, and returns 125.</summary>
    private static int Fail(string socketPath, string reason)
    {
        Console.Error.WriteLine("dotnet-sandbox: the bridge to the egress proxy stops: " + reason);
        _ = Tell(socketPath, [.. FailurePrefix, .. System.Text.Encoding.UTF8.GetBytes(reason)]);
        return Errors.ExitCodes.SandboxFailure;
    }

    /// <summary>Sends <paramref name="message"/> on a connection of its own and waits for the proxy's answer.</summary>
    private static bool Tell(string socketPath, ReadOnlySpan<byte> message)
    {
        try
        {
            using var proxy = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            proxy.ReceiveTimeout = (int)AcknowledgementTimeout.TotalMilliseconds;
            proxy.SendTimeout = (int)AcknowledgementTimeout.TotalMilliseconds;
            proxy.Connect(new UnixDomainSocketEndPoint(socketPath));
            if (proxy.Send(message) != message.Length)
            {
                return false;
            }

            Span<byte> answer = stackalloc byte[1];
            return proxy.Receive(answer) == 1 && answer[0] == Acknowledgement;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static Socket Listen(int port, IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            listener.DualMode = false;
        }

        listener.Bind(new IPEndPoint(address, port));
        listener.Listen(512);
        return listener;
    }

    private static void AcceptLoop(Socket listener, string socketPath, byte[] message)
    {
        var endPoint = new UnixDomainSocketEndPoint(socketPath);
        while (true)
        {
            Socket client;
            try
            {
                client = listener.Accept();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }

            using var tcp = client;
            using var proxy = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                proxy.Connect(endPoint);
                tcp.NoDelay = true;
                // Hand the connection itself to the proxy; this process keeps nothing of it.
                DescriptorPassing.Send(proxy, tcp, message);
            }
            catch (SocketException)
            {
                // The proxy is gone: the client sees its connection closed at once.
            }
        }
    }
}
