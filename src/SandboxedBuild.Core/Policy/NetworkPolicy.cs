namespace SandboxedBuild.Policy;

/// <summary>The network part of a policy.</summary>
/// <param name="Reason">Why the network is what it is.</param>
/// <remarks>
/// For now the sandbox has no network at all: only its own loopback. The egress proxy adds an
/// allowlist of hosts here.
/// </remarks>
public sealed record NetworkPolicy(string Reason)
{
    /// <summary>Loopback inside the sandbox only; no route out.</summary>
    public static NetworkPolicy None { get; } = new("no network: the sandbox has only its own loopback interface");
}
