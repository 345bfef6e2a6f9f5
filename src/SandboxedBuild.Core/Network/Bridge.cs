using System.Net;
using System.Net.Sockets;
using SandboxedBuild.Linux;

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
    public static IReadOnlyList<string> Arguments(int port, IReadOnlyList<string> command) =>
        [CommandName, port.ToString(System.Globalization.CultureInfo.InvariantCulture), SocketDirectoryInside + "/" + SocketFileName, "--", .. command];

    /// <summary>Entry point: <c>__bridge PORT SOCKET -- COMMAND [ARGS...]</c>.</summary>
    public static int Run(IReadOnlyList<string> args)
    {
        if (args.Count < 4 || args[2] != "--" || !int.TryParse(args[0], System.Globalization.CultureInfo.InvariantCulture, out var port))
        {
            Console.Error.WriteLine("dotnet-sandbox: internal: usage: __bridge PORT SOCKET -- COMMAND [ARGS...]");
            return Errors.ExitCodes.SandboxFailure;
        }

        var socketPath = args[1];
        var command = args.Skip(3).ToList();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(512);

        // Plain blocking calls on one thread: the bridge starts on every networked run, and this
        // keeps the runtime's thread pool and socket event loop from starting at all.
        new Thread(() => AcceptLoop(listener, socketPath), 256 * 1024) { IsBackground = true, Name = "bridge-accept" }.Start();

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

        int pid;
        try
        {
            pid = SandboxLauncher.Spawn(command[0], command, environment, silent: false, newProcessGroup: false);
        }
        catch (Errors.SandboxException ex)
        {
            Console.Error.WriteLine("dotnet-sandbox: " + ex.Message);
            return Errors.ExitCodes.CommandNotFound;
        }

        return SandboxLauncher.DecodeWaitStatus(SandboxLauncher.WaitForExit(pid));
    }

    private static void AcceptLoop(Socket listener, string socketPath)
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
                DescriptorPassing.Send(proxy, tcp);
            }
            catch (SocketException)
            {
                // The proxy is gone: the client sees its connection closed at once.
            }
        }
    }
}
