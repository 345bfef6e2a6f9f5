using System.Globalization;
using System.Runtime.InteropServices;
using SandboxedBuild.Interop;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Linux;

/// <summary>
/// Delivers to the sandboxed command, for the whole life of one sandbox, what stops it from outside:
/// SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to this process, when the host relays them (the CLI
/// does; see <see cref="RunControl"/>), and the host's cancellation; the way a terminal delivers a
/// signal to its foreground job.
/// </summary>
/// <remarks>
/// <para>
/// bubblewrap's <c>--new-session</c> calls setsid(2) in the process that becomes the sandbox's init,
/// just before that process forks the command; so the init leads a session and a process group whose
/// id is the init's host pid, and the command and everything it starts (unless it makes a group of
/// its own, as at a terminal) are members. Signalling that group is what a terminal does on Ctrl-C.
/// The init itself is a member but ignores the signal: a signal from outside a PID namespace reaches
/// its init only through a handler, and bubblewrap's init has none.
/// </para>
/// <para>
/// Until the command is let go (<see cref="TryStart"/>) a signal is not forwarded but recorded: the
/// launch is abandoned, nothing runs, and the run exits 128+N. After it, the first of each signal is
/// forwarded once the command exists; the same signal a second time ends the whole sandbox with
/// SIGKILL of its init (the kernel then kills every process in its PID namespace), for a command that
/// ignores or outlives the first. Signals that arrive once the sandbox has ended are ignored while the
/// run cleans up.
/// </para>
/// </remarks>
internal sealed class SignalRelay : IDisposable
{
    /// <summary>The signals that are relayed; the others keep their default meaning for this process.</summary>
    internal static readonly int[] Signals = [NativeMethods.SIGINT, NativeMethods.SIGTERM, NativeMethods.SIGHUP, NativeMethods.SIGQUIT];

    // How long a forwarded signal waits for the command to exist (the bridge starts it a moment after
    // the sandbox's init forks the bridge); it is then delivered to the group whatever was found.
    private static readonly TimeSpan CommandWait = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private readonly List<PosixSignalRegistration> _registrations;
    private readonly CancellationTokenRegistration _cancellation;
    private readonly TimeSpan _cancelGrace;
    private readonly HashSet<int> _forwarded = [];
    private Timer? _graceTimer;
    private int _startupSignal;
    private bool _startupByHost;
    private int _init;
    private int _depth;
    private Func<bool> _ended = () => true;
    private bool _running;
    private bool _done;

    /// <summary>
    /// Starts listening to what <paramref name="control"/> names: this process's own signals (from
    /// now on none of them ends this process), and the host's cancellation, which is delivered as a
    /// SIGTERM and, after the grace period, as the same signal again.
    /// </summary>
    public SignalRelay(RunControl control)
    {
        _registrations = !control.RelayProcessSignals ? [] : Signals
            .Select(sig => PosixSignalRegistration.Create((PosixSignal)sig, ctx =>
            {
                ctx.Cancel = true;
                OnSignal(sig, byHost: false);
            }))
            .ToList();
        _cancelGrace = control.CancelGrace;
        _cancellation = control.Cancellation.Register(OnCancelled);
    }

    /// <summary>The first signal that arrived before the command was let go, or <see langword="null"/>.</summary>
    public int? StartupSignal
    {
        get
        {
            lock (_gate)
            {
                return _startupSignal == 0 ? null : _startupSignal;
            }
        }
    }

    /// <summary>What stopped the run before its command started: the signal's name, or the host's cancellation; <see langword="null"/> when nothing did.</summary>
    public string? StartupCause
    {
        get
        {
            lock (_gate)
            {
                return _startupSignal == 0 ? null : _startupByHost ? "the host's cancellation" : Name(_startupSignal);
            }
        }
    }

    /// <summary>Whether a repeated signal made the relay kill the whole sandbox.</summary>
    public bool Escalated { get; private set; }

    /// <summary>
    /// Switches from recording to forwarding, atomically: <see langword="false"/> when a signal
    /// arrived first, and then the command must not be let go.
    /// </summary>
    /// <param name="init">The sandbox's init (bubblewrap's <c>child-pid</c>), leader of the command's group.</param>
    /// <param name="depth">How far below the init the user's command is: 1, or 2 when the network bridge starts it.</param>
    /// <param name="ended">Whether bubblewrap has exited.</param>
    public bool TryStart(int init, int depth, Func<bool> ended)
    {
        lock (_gate)
        {
            if (_startupSignal != 0)
            {
                return false;
            }

            (_init, _depth, _ended, _running) = (init, depth, ended, true);
            return true;
        }
    }

    /// <summary>The sandbox has ended: later signals are ignored until the relay is disposed.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _done = true;
        }
    }

    /// <summary>Gives the signals back their default meaning.</summary>
    public void Dispose()
    {
        Stop();
        _cancellation.Dispose();
        lock (_gate)
        {
            _graceTimer?.Dispose();
        }

        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    /// <summary>The 128+N exit status of a shell for death by signal N.</summary>
    internal static int ExitStatusFor(int signal) => 128 + signal;

    /// <summary>The conventional name of a relayed signal (SIGINT, …), for messages.</summary>
    internal static string Name(int signal) => signal switch
    {
        NativeMethods.SIGINT => "SIGINT",
        NativeMethods.SIGTERM => "SIGTERM",
        NativeMethods.SIGHUP => "SIGHUP",
        NativeMethods.SIGQUIT => "SIGQUIT",
        _ => "signal " + signal.ToString(CultureInfo.InvariantCulture),
    };

    private void OnCancelled()
    {
        OnSignal(NativeMethods.SIGTERM, byHost: true);
        lock (_gate)
        {
            // A command that outlives the SIGTERM gets it again after the grace period: the repeat ends the sandbox.
            if (!_done && _graceTimer is null)
            {
                _graceTimer = new Timer(_ => OnSignal(NativeMethods.SIGTERM, byHost: true), null, _cancelGrace, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void OnSignal(int signal, bool byHost)
    {
        int init, depth;
        Func<bool> ended;
        lock (_gate)
        {
            if (_done)
            {
                return;
            }

            if (!_running)
            {
                if (_startupSignal == 0)
                {
                    (_startupSignal, _startupByHost) = (signal, byHost);
                }

                return;
            }

            if (_init <= 0)
            {
                // bubblewrap never reported an init (it failed and is exiting): nothing to signal, and
                // kill(0 or -0, …) would reach this process's own group.
                return;
            }

            if (!_forwarded.Add(signal))
            {
                // The same signal again: the command ignored or outlived it. SIGKILL of the init is
                // delivered even from outside its PID namespace, and takes every process in it along.
                Escalated = true;
                _ = NativeMethods.kill(_init, NativeMethods.SIGKILL);
                return;
            }

            (init, depth, ended) = (_init, _depth, _ended);
        }

        // Off the signal thread: finding the command may take a moment while the sandbox starts.
        var thread = new Thread(() => Deliver(init, depth, ended, signal)) { IsBackground = true, Name = "signal-relay" };
        thread.Start();
    }

    private static void Deliver(int init, int depth, Func<bool> ended, int signal)
    {
        // A signal delivered before the command exists would reach only the init (which ignores it)
        // or the bridge (which ignores it too) and be lost: wait for the command, a short while.
        var deadline = Environment.TickCount64 + (long)CommandWait.TotalMilliseconds;
        while (FindDescendant(init, depth) is null && !ended() && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(5);
        }

        if (!ended())
        {
            _ = NativeMethods.kill(-init, signal);
        }
    }

    /// <summary>A process <paramref name="depth"/> generations below <paramref name="ancestor"/>, or <see langword="null"/>.</summary>
    internal static int? FindDescendant(int ancestor, int depth)
    {
        int? current = ancestor;
        for (var i = 0; i < depth && current is { } parent; i++)
        {
            current = FindChild(parent);
        }

        return current;
    }

    private static int? FindChild(int parentPid)
    {
        // The children list of a process in another user namespace needs ptrace rights that an
        // unprivileged caller lacks; /proc/PID/stat (with the parent pid) is readable by anyone.
        var wanted = parentPid.ToString(CultureInfo.InvariantCulture);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 1 && fields[1] == wanted)
                {
                    return int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
            {
                // Not a process, or gone already.
            }
        }

        return null;
    }
}
