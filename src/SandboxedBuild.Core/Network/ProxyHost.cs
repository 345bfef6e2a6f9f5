using System.Collections.Concurrent;

namespace SandboxedBuild.Network;

/// <summary>One decision of a session of a <see cref="ProxyHost"/>, as its subscriber hears it.</summary>
/// <param name="SessionId">The session's number in its host, from 1 in the order they were opened.</param>
/// <param name="SessionName">The name its opener gave it (a step, a call's id), or <see langword="null"/>.</param>
/// <param name="Record">The decision.</param>
public sealed record ProxyEvent(int SessionId, string? SessionName, ConnectionRecord Record);

/// <summary>
/// The egress proxy of a long-lived host that runs many sandboxes, one after another or at the same
/// time (an MSBuild node, an MCP server, a test process): each networked run is a session, an
/// <see cref="EgressProxy"/> of its own, with its own socket in the run's private directory (which
/// is what identifies the sandbox a connection comes from: no sandbox sees another's socket), its own
/// policy, prompt answers, records, fault and bound. The host adds what the sessions share.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>One bound on the connections held across all sessions (<see cref="MaxConnections"/>), so that
/// many sandboxes at once cannot make the host hold more than one would; over it, the session whose
/// sandbox asks refuses with SBX6007, as over its own bound.</item>
/// <item>One question at a time: sessions that prompt about undecided hosts take turns on the one
/// terminal (or dialog) the host has.</item>
/// <item>One subscription to every decision of every session (<see cref="ProxyEvent"/>), besides
/// each session's own hooks.</item>
/// <item>One guard of the addresses a name must not lead to, made once.</item>
/// </list>
/// A fault (the proxy of a session stopped moving data, SBX6009/SBX6010) closes that session only;
/// the others go on. Disposing the host closes the sessions still open.
/// </remarks>
public sealed class ProxyHost : IAsyncDisposable
{
    private readonly ConcurrentDictionary<EgressProxy, byte> _sessions = new();
    private readonly Action<ProxyEvent>? _onEvent;
    private int _held;
    private int _overloaded;
    private int _lastId;
    private volatile bool _disposed;

    /// <param name="guard">Which resolved addresses are refused, in every session; this machine's own (<see cref="AddressGuard.ForThisHost"/>) when <see langword="null"/>.</param>
    /// <param name="maxConnections">The most connections held at once across all sessions, those closing included.</param>
    /// <param name="onEvent">Told of every decision of every session as it is made, on the connection's thread; a handler that throws takes nothing down.</param>
    public ProxyHost(AddressGuard? guard = null, int maxConnections = 1024, Action<ProxyEvent>? onEvent = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 1);
        Guard = guard ?? AddressGuard.ForThisHost();
        MaxConnections = maxConnections;
        _onEvent = onEvent;
    }

    /// <summary>The guard every session uses.</summary>
    public AddressGuard Guard { get; }

    /// <summary>The most connections held at once across all sessions.</summary>
    public int MaxConnections { get; }

    /// <summary>The sessions open now.</summary>
    public int OpenSessions => _sessions.Count;

    /// <summary>How many sessions were opened in all.</summary>
    public int SessionsOpened => Volatile.Read(ref _lastId);

    /// <summary>The connections held now across all sessions (for tests).</summary>
    internal int HeldConnections => Volatile.Read(ref _held);

    /// <summary>Serializes the sessions' prompts.</summary>
    internal SemaphoreSlim PromptTurn { get; } = new(1, 1);

    /// <summary>
    /// Opens a session that listens on <paramref name="socketPath"/> and decides by <paramref name="policy"/>;
    /// disposing the returned proxy closes the session.
    /// </summary>
    /// <param name="policy">Which hosts this session allows.</param>
    /// <param name="socketPath">Where the session listens; its directory should be private to the run, seen only by its sandbox.</param>
    /// <param name="hooks">How this session talks to its run (prompt, refusals, records, wording, and its name in <see cref="ProxyEvent"/>s).</param>
    /// <param name="limits">This session's own bounds; <see cref="ProxyLimits.Default"/> when <see langword="null"/>.</param>
    /// <exception cref="ObjectDisposedException">The host was disposed.</exception>
    public EgressProxy Open(NetworkPolicy policy, string socketPath, NetworkHooks? hooks = null, ProxyLimits? limits = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var id = Interlocked.Increment(ref _lastId);
        var name = hooks?.Name;
        var own = hooks?.OnConnection;
        void Heard(ConnectionRecord record)
        {
            // The session's own handler throwing does not keep the host's subscriber from hearing it.
            try
            {
                own?.Invoke(record);
            }
            finally
            {
                _onEvent?.Invoke(new ProxyEvent(id, name, record));
            }
        }

        var session = EgressProxy.Open(this, id, policy, socketPath, hooks?.Prompt, hooks?.OnBlocked, hooks?.OnAlways, limits ?? ProxyLimits.Default, hooks?.Wording, Heard);
        _sessions.TryAdd(session, 0);
        if (_disposed)
        {
            // Disposed while this one opened: it does not outlive the host.
            session.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw new ObjectDisposedException(nameof(ProxyHost));
        }

        return session;
    }

    /// <summary>A session closed.</summary>
    internal void Closed(EgressProxy session) => _sessions.TryRemove(session, out _);

    /// <summary>Takes a place for one more connection; false when the host holds <see cref="MaxConnections"/> already (and whether this is the first refusal of a burst).</summary>
    internal bool TryHold(out bool firstOfBurst)
    {
        if (Interlocked.Increment(ref _held) > MaxConnections)
        {
            Interlocked.Decrement(ref _held);
            firstOfBurst = Interlocked.Exchange(ref _overloaded, 1) == 0;
            return false;
        }

        firstOfBurst = false;
        return true;
    }

    /// <summary>Gives back a place taken by <see cref="TryHold"/>; the burst is over once half the room is free.</summary>
    internal void Return()
    {
        if (Interlocked.Decrement(ref _held) <= MaxConnections / 2)
        {
            Volatile.Write(ref _overloaded, 0);
        }
    }

    /// <summary>Closes every session still open.</summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (var session in _sessions.Keys)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }

        PromptTurn.Dispose();
    }
}
