using System.Globalization;
using System.Net.Sockets;
using SandboxedBuild.Errors;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Linux;

/// <summary>
/// The host's end of the channel to a supervisor it starts itself (<see cref="Supervisor"/>): it
/// listens in a private directory, takes the first connection only, sends bubblewrap's arguments and
/// environment, admits the sandbox through the run's <see cref="LaunchScope"/> (the mount check, the
/// process bound), and keeps what the supervisor reports: the command's end, or the coded failure.
/// </summary>
internal sealed class SupervisorHost : IDisposable
{
    private readonly LaunchScope _scope;
    private readonly Socket _listener;
    private readonly string _socketPath;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private Socket? _connection;
    private int _init;
    private bool _started;

    private SupervisorHost(LaunchScope scope, Socket listener, string socketPath)
    {
        _scope = scope;
        _listener = listener;
        _socketPath = socketPath;
        _thread = new Thread(Serve) { IsBackground = true, Name = "sandbox-supervisor" };
        _thread.Start();
    }

    /// <summary>What the supervisor reported at the command's end: status, wall time, what stopped it before the start, whether a repeat killed it.</summary>
    public (int ExitCode, TimeSpan Elapsed, string? StartupCause, bool Escalated)? Exit { get; private set; }

    /// <summary>The coded failure: the host's own refusal of the sandbox, or what the supervisor reported.</summary>
    public SandboxException? Failure { get; private set; }

    /// <summary>Why there is neither an exit nor a failure, for SBX4020.</summary>
    public string Silence { get; private set; } = "it never connected to the host's channel";

    /// <summary>Listens on <paramref name="socketPath"/> (in a directory only the caller can enter) for the supervisor of <paramref name="scope"/>.</summary>
    public static SupervisorHost Listen(LaunchScope scope, string socketPath)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(1);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        return new SupervisorHost(scope, listener, socketPath);
    }

    /// <summary>Waits until the supervisor's channel ended (it has exited, or is about to).</summary>
    /// <remarks>A supervisor connects first thing: when there is no connection by the time its process exited, there will be none.</remarks>
    public bool WaitForEnd(TimeSpan timeout)
    {
        lock (_gate)
        {
            if (_connection is null)
            {
                return true;
            }
        }

        return _thread.Join(timeout);
    }

    /// <summary>
    /// Ends the channel. A sandbox still running is killed first (its init, and with it every process
    /// of its PID namespace), and its end is awaited: what the scope releases next (placeholders above
    /// all) must not be released under a live sandbox.
    /// </summary>
    public void Dispose()
    {
        int init;
        lock (_gate)
        {
            init = Exit is null ? _init : 0;
            _listener.Dispose();
        }

        if (init > 0)
        {
            _ = NativeMethods.kill(init, NativeMethods.SIGKILL);
            var deadline = Environment.TickCount64 + 10_000;
            while (Directory.Exists("/proc/" + init.ToString(CultureInfo.InvariantCulture)) && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(5);
            }
        }

        if (!_thread.Join(TimeSpan.FromSeconds(1)))
        {
            // A supervisor that connected and hangs: its channel is closed under it, and its wait for an answer ends.
            lock (_gate)
            {
                _connection?.Shutdown(SocketShutdown.Both);
            }

            _ = _thread.Join(TimeSpan.FromSeconds(5));
        }

        _connection?.Dispose();
        try
        {
            File.Delete(_socketPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Its directory goes with the run.
        }
    }

    private void Serve()
    {
        try
        {
            var connection = _listener.Accept();
            lock (_gate)
            {
                _connection = connection;
            }

            // The first connection is the supervisor's; nobody else is heard.
            _listener.Dispose();
            File.Delete(_socketPath);
            SupervisorChannel.Send(connection, ["spec", _scope.Bwrap, Number(_scope.CommandDepth), Number(_scope.Arguments.Count), .. _scope.Arguments, .. _scope.Environment]);
            Silence = "it ended before bubblewrap reported the sandbox's init";
            while (SupervisorChannel.Receive(connection) is { } message)
            {
                if (!Handle(connection, message))
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            if (_connection is not null)
            {
                Silence = "its channel failed: " + ex.Message;
            }
        }
        finally
        {
            if (_started)
            {
                _scope.Ended();
            }
        }
    }

    private bool Handle(Socket connection, string[] message)
    {
        switch (message)
        {
            case ["init", var pidText] when int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var init) && init > 0 && _init == 0:
                lock (_gate)
                {
                    _init = init;
                }

                Silence = "it ended while the command ran, without reporting its end";
                bool admitted;
                try
                {
                    admitted = _scope.Admit(init, () => false);
                }
                catch (SandboxException ex)
                {
                    Failure = ex;
                    SupervisorChannel.Send(connection, "refused");
                    return false;
                }

                SupervisorChannel.Send(connection, admitted ? "go" : "no");
                if (admitted)
                {
                    _started = true;
                    _scope.Started(init);
                }

                return true;

            case ["exit", var code, var millis, var cause, var escalated]
                when int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var exitCode)
                && long.TryParse(millis, NumberStyles.None, CultureInfo.InvariantCulture, out var ms):
                lock (_gate)
                {
                    Exit = (exitCode, TimeSpan.FromMilliseconds(ms), cause.Length == 0 ? null : cause, escalated == "1");
                }

                return false;

            case ["fail", var code, .. var arguments] when Errors.Errors.All.FirstOrDefault(e => e.Code == code) is { } error:
                Failure = new SandboxException(error, [.. arguments]);
                return false;

            default:
                Silence = "it sent a message the host does not know";
                return false;
        }
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
