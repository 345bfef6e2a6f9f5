using System.Globalization;
using System.Net.Sockets;
using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Linux;

/// <summary>
/// The process a host starts itself when it runs a prepared sandbox (dotnet-sandbox-bridge
/// <c>__supervise SOCKET</c>): it takes bubblewrap's arguments and environment from the host over
/// the host's channel, starts bubblewrap, lets the host check the sandbox before the command is let
/// go, relays the signals it is sent to the command's process group as a terminal would, and reports
/// the command's end, or the coded reason the sandbox failed, on the channel. Its own exit status is
/// the command's, or 125 when the sandbox failed.
/// </summary>
/// <remarks>
/// It runs outside the sandbox, as the host's user, with the host's stdio: whatever the host connects
/// to its standard streams is what the command gets. Everything it does to the sandbox, it does
/// through the same code as the host's own launcher (<see cref="BwrapSpawn.SpawnAndWait"/>); what
/// it decides nothing about: the mounts are checked, and the process bound set, by the host, which
/// holds the run's placeholders and output directories. The channel is the only word the host takes
/// from it, so its exit status alone can never pass for a command's.
/// </remarks>
public static class Supervisor
{
    /// <summary>The hidden command word that starts the supervisor.</summary>
    public const string CommandName = "__supervise";

    /// <summary>Runs the supervisor: <c>__supervise SOCKET</c>.</summary>
    public static int Run(string[] args)
    {
        if (args is not [CommandName, var socketPath])
        {
            Console.Error.WriteLine("dotnet-sandbox-bridge: usage: " + CommandName + " SOCKET (started by a host of SandboxedBuild, never by hand)");
            return ExitCodes.SandboxFailure;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        RemoteSite site;
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            site = RemoteSite.Read(socket);
        }
        catch (Exception ex) when (ex is SocketException or IOException or FormatException)
        {
            Console.Error.WriteLine("dotnet-sandbox-bridge: the host's channel: " + ex.Message);
            return ExitCodes.SandboxFailure;
        }

        // A process of its own: the signals it is sent are the command's (see SignalRelay).
        using var signals = new SignalRelay(RunControl.ProcessSignals);
        try
        {
            var (exitCode, elapsed) = BwrapSpawn.SpawnAndWait(site, CommandStreams.Inherited, signals);
            SupervisorChannel.Send(socket, "exit", Number(exitCode), Number((long)elapsed.TotalMilliseconds), signals.StartupCause ?? string.Empty, signals.Escalated ? "1" : "0");
            return exitCode;
        }
        catch (SandboxException ex)
        {
            if (!site.RefusedByHost)
            {
                // The host words the failure; the supervisor's stderr gets it too, for a host that shows nothing.
                Console.Error.WriteLine("dotnet-sandbox-bridge: " + TerminalText.EscapeLine(ex.Diagnostic.ToString(), keepNewlines: true));
                TrySend(socket, ["fail", ex.Error.Code, .. ex.Diagnostic.Arguments.Select(a => Convert.ToString(a, CultureInfo.InvariantCulture) ?? string.Empty)]);
            }

            return ex.ExitCode;
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            // The host went away: bubblewrap is gone with this process (--die-with-parent).
            Console.Error.WriteLine("dotnet-sandbox-bridge: the host's channel: " + ex.Message);
            return ExitCodes.SandboxFailure;
        }
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static void TrySend(Socket socket, string[] fields)
    {
        try
        {
            SupervisorChannel.Send(socket, fields);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            // The host went away; it has nothing left to tell.
        }
    }

    /// <summary>The spawn site as the host describes it, admitted by the host over the channel.</summary>
    private sealed class RemoteSite(Socket socket, string bwrap, int depth, IReadOnlyList<string> arguments, IReadOnlyList<string> environment) : ISpawnSite
    {
        public string Bwrap => bwrap;

        public IReadOnlyList<string> Arguments => arguments;

        public IEnumerable<string> Environment => environment;

        public int CommandDepth => depth;

        /// <summary>Whether the host refused the sandbox (it keeps the reason, and reports it itself).</summary>
        public bool RefusedByHost { get; private set; }

        /// <summary>Reads the host's <c>spec</c>.</summary>
        public static RemoteSite Read(Socket socket)
        {
            var spec = SupervisorChannel.Receive(socket) ?? throw new IOException("the host sent nothing");
            if (spec is not ["spec", var bwrap, var depthText, var countText, ..]
                || !int.TryParse(depthText, NumberStyles.None, CultureInfo.InvariantCulture, out var depth)
                || !int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out var count)
                || count > spec.Length - 4)
            {
                throw new FormatException("the host's spec is malformed");
            }

            return new RemoteSite(socket, bwrap, depth, spec[4..(4 + count)], spec[(4 + count)..].Where(e => e.Length > 0).ToArray());
        }

        public bool Admit(int init, Func<bool> stop)
        {
            SupervisorChannel.Send(socket, "init", Number(init));
            switch (SupervisorChannel.Receive(socket))
            {
                case ["go"]:
                    return true;
                case ["refused"]:
                    RefusedByHost = true;
                    throw new SandboxException(Errors.Errors.SandboxSetupFailed, ExitCodes.SandboxFailure);
                default:
                    // "no" (bubblewrap failed on the host's view), or the host went away: the command never starts.
                    return false;
            }
        }

        public void Started(int init)
        {
        }

        public void Ended()
        {
        }
    }
}
