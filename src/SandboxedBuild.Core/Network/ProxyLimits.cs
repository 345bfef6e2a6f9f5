namespace SandboxedBuild.Network;

/// <summary>Bounds on what a sandboxed command can make the egress proxy hold.</summary>
public sealed record ProxyLimits
{
    /// <summary>The defaults: 256 connections at once, 10 s for a request head, 5 minutes of silence in a tunnel, 10 s of bytes left unread by the proxy.</summary>
    public static ProxyLimits Default { get; } = new();

    /// <summary>The most connections served at once; more are refused (SBX6007) until some close.</summary>
    public int MaxConnections { get; init; } = 256;

    /// <summary>How long a connection has, from its arrival, to send a complete request head (else SBX6008).</summary>
    public TimeSpan HeadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an established connection may carry no byte in either direction before it is closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long bytes may wait unread by the proxy (on a relayed connection whose other side has room,
    /// or as connections on its socket) before the proxy counts as stopped and closes everything (SBX6010).
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
