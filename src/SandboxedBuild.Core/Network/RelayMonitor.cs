using System.Collections.Concurrent;
using System.Net.Sockets;

namespace SandboxedBuild.Network;

/// <summary>
/// What the egress proxy knows of its own health: every socket it holds for the sandbox, every
/// relayed pair with when each direction last moved bytes, and a watchdog thread that notices when
/// the proxy stops reading. On a fault it closes everything at once, so that no client inside waits
/// on a connection that will never move again.
/// </summary>
/// <remarks>
/// The bridge inside the sandbox hands each connection over and keeps nothing of it, so the
/// proxy's sockets are the only ones left: shutting them down is what the command's clients see
/// (end of stream, or a reset when data was still unread), at once. After a fault the listener is
/// closed too, and the bridge's next connect is refused, which closes that connection as well.
/// A proxy "stops reading" when, for <see cref="ProxyLimits.StallTimeout"/>, the thread of a
/// direction of a relayed pair has not come back from a call while bytes wait on its source and its
/// destination could take them; or when connections wait on the listener that the accept loop does
/// not take. Each direction's calls time out after <see cref="HeartbeatMilliseconds"/> at the
/// latest and it says it is alive each time one returns, with bytes or without: a direction blocked
/// for long on a slow peer (a 1 MiB chunk written to a client that reads a few KiB at a time) is
/// alive, and the moment its destination has room again, before its thread runs, is no stall.
/// Only a thread that does not come back (a wedge, or a machine too starved to schedule it for the
/// whole timeout) is one; the timeout is a wide margin for a starved machine, not a guess about
/// remote servers.
/// The watchdog is a thread of its own, outside the runtime's thread pool, so that a starved pool
/// (one way to stop the accept loop) does not stop it too.
/// </remarks>
internal sealed class RelayMonitor : IDisposable
{
    private const int TickMilliseconds = 250;

    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly ConcurrentDictionary<Pair, byte> _pairs = new();
    private readonly ManualResetEventSlim _released = new(false);
    private readonly TaskCompletionSource _releasedTask = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<Errors.ErrorCode, string> _onFault;
    private readonly long _stall;
    private readonly ProxyFaultInjection? _injection;
    private readonly Thread _watchdog;
    private readonly Socket _listener;
    private long _lastAccept = Environment.TickCount64;
    private long _injectedBytes;
    private int _faulted;
    private volatile bool _stopped;

    /// <param name="listener">The proxy's listening socket.</param>
    /// <param name="stallTimeout">How long data may wait unread before the proxy counts as stopped.</param>
    /// <param name="onFault">Told once, on the first fault, with its code and reason; everything is closed right after.</param>
    /// <param name="injection">A fault to simulate, for tests.</param>
    public RelayMonitor(Socket listener, TimeSpan stallTimeout, Action<Errors.ErrorCode, string> onFault, ProxyFaultInjection? injection)
    {
        _listener = listener;
        _stall = (long)stallTimeout.TotalMilliseconds;
        _onFault = onFault;
        _injection = injection;
        _watchdog = new Thread(Watch, 128 * 1024) { IsBackground = true, Name = "proxy-watchdog" };
        _watchdog.Start();
    }

    /// <summary>The longest a relay direction's call may block before it returns to say it is alive: a quarter of the stall timeout.</summary>
    public long HeartbeatMilliseconds => Math.Max(_stall / 4, 1);

    /// <summary>Whether a fault has closed everything.</summary>
    public bool Faulted => Volatile.Read(ref _faulted) != 0;

    /// <summary>One relayed pair: the sandbox's side, the server's side, and when each direction's thread last came back from a call.</summary>
    internal sealed class Pair(Socket a, Socket b)
    {
        public Socket A { get; } = a;

        public Socket B { get; } = b;

        /// <summary>When the upload's thread (<see cref="A"/> to <see cref="B"/>) last returned from a call, having moved bytes or not (<see cref="Environment.TickCount64"/>).</summary>
        public long UpAlive = Environment.TickCount64;

        /// <summary>When the download's thread (<see cref="B"/> to <see cref="A"/>) last returned from a call.</summary>
        public long DownAlive = Environment.TickCount64;

        /// <summary>Notes that one direction's thread is back from a call now.</summary>
        public void Alive(bool down) => Volatile.Write(ref down ? ref DownAlive : ref UpAlive, Environment.TickCount64);

        public volatile bool UpDone;

        public volatile bool DownDone;
    }

    /// <summary>Holds <paramref name="socket"/> until <see cref="Release(Socket)"/>; false (and shut down) after a fault.</summary>
    public bool Hold(Socket socket)
    {
        _sockets.TryAdd(socket, 0);
        if (Faulted)
        {
            Shut(socket);
            return false;
        }

        return true;
    }

    /// <summary>Forgets a socket that its owner is about to dispose.</summary>
    public void Release(Socket socket) => _sockets.TryRemove(socket, out _);

    /// <summary>Starts watching a relayed pair.</summary>
    public Pair Track(Socket a, Socket b)
    {
        var pair = new Pair(a, b);
        _pairs.TryAdd(pair, 0);
        if (Faulted)
        {
            Shut(a);
            Shut(b);
        }

        return pair;
    }

    /// <summary>The pairs watched now (for tests).</summary>
    internal ICollection<Pair> Pairs => _pairs.Keys;

    /// <summary>Stops watching a pair whose relay has ended.</summary>
    public void Untrack(Pair pair) => _pairs.TryRemove(pair, out _);

    /// <summary>
    /// Completes at once, unless the fault injection wedges the accept loop: then when a fault (or
    /// the end of the run) releases it.
    /// </summary>
    public Task BeforeAccept() => _injection?.Kind == ProxyFaultKind.WedgeAccept ? _releasedTask.Task : Task.CompletedTask;

    /// <summary>The accept loop took a connection.</summary>
    public void Accepted() => Volatile.Write(ref _lastAccept, Environment.TickCount64);

    /// <summary>
    /// A relay direction moved <paramref name="bytes"/>. Only the fault injection acts on it: it may
    /// fail the proxy here, or keep this thread from reading again until a fault releases it.
    /// </summary>
    public void Moved(long bytes, bool down)
    {
        if (_injection is not { } injection || !down || injection.Kind == ProxyFaultKind.SlowStart)
        {
            return;
        }

        if (Interlocked.Add(ref _injectedBytes, bytes) < injection.AfterBytes)
        {
            return;
        }

        if (injection.Kind == ProxyFaultKind.WedgeAccept)
        {
            return;
        }

        if (injection.Kind == ProxyFaultKind.Kill)
        {
            Fail(Errors.Errors.ProxyFailed, $"stopped by {ProxyFaultInjection.VariableName} after {injection.AfterBytes} bytes");
        }
        else
        {
            // Wedged: this thread reads nothing more; the watchdog has to notice.
            _released.Wait();
        }
    }

    /// <summary>Fails the proxy once: says why, closes the listener and shuts down every socket it holds.</summary>
    public void Fail(Errors.ErrorCode code, string reason)
    {
        if (Interlocked.Exchange(ref _faulted, 1) != 0)
        {
            return;
        }

        _onFault(code, reason);
        try
        {
            _listener.Dispose();
        }
        catch (ObjectDisposedException)
        {
        }

        foreach (var socket in _sockets.Keys)
        {
            Shut(socket);
        }

        foreach (var pair in _pairs.Keys)
        {
            Shut(pair.A);
            Shut(pair.B);
        }

        _released.Set();
        _releasedTask.TrySetResult();
    }

    /// <summary>Stops the watchdog and lets any held thread go.</summary>
    public void Dispose()
    {
        _stopped = true;
        _released.Set();
        _releasedTask.TrySetResult();
        _watchdog.Join(TimeSpan.FromSeconds(2));
    }

    private static void Shut(Socket socket)
    {
        try
        {
            // A shutdown wakes a thread blocked on the socket (a close alone would not), and the
            // client sees the end of its stream; the owner disposes the socket as it unwinds.
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private void Watch()
    {
        long? listenerWaitingSince = null;
        while (!_stopped && !Faulted)
        {
            // Set by Dispose (and by a fault): the run does not wait out a tick when it ends.
            if (_released.Wait(TickMilliseconds))
            {
                return;
            }

            var now = Environment.TickCount64;
            foreach (var pair in _pairs.Keys)
            {
                if (Stalled(pair.B, pair.A, pair.DownDone, Volatile.Read(ref pair.DownAlive), now)
                    || Stalled(pair.A, pair.B, pair.UpDone, Volatile.Read(ref pair.UpAlive), now))
                {
                    Fail(Errors.Errors.ProxyStalled, $"a relayed connection had bytes waiting for {Seconds(_stall)} s that the proxy did not read");
                    return;
                }
            }

            bool waiting;
            try
            {
                waiting = _listener.Poll(0, SelectMode.SelectRead);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }

            if (!waiting)
            {
                listenerWaitingSince = null;
            }
            else if (listenerWaitingSince is null)
            {
                listenerWaitingSince = now;
            }
            else if (now - listenerWaitingSince >= _stall && now - Volatile.Read(ref _lastAccept) >= _stall)
            {
                Fail(Errors.Errors.ProxyStalled, $"connections waited {Seconds(_stall)} s on its socket without being accepted");
                return;
            }
        }
    }

    /// <summary>A direction whose thread has not come back for the stall timeout while its source has bytes and its destination has room.</summary>
    private bool Stalled(Socket from, Socket to, bool done, long last, long now)
    {
        if (done || now - last < _stall)
        {
            return false;
        }

        try
        {
            return from.Poll(0, SelectMode.SelectRead) && to.Poll(0, SelectMode.SelectWrite);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private static string Seconds(long milliseconds) => (milliseconds / 1000.0).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);
}
