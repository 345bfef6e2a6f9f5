using SandboxedBuild.Errors;

namespace SandboxedBuild.Network;

/// <summary>How a run talks to its host about the network: the proxy session's prompt, refusals, records and wording.</summary>
public sealed record NetworkHooks
{
    /// <summary>Asks about hosts no rule decides; <see langword="null"/> denies them.</summary>
    public IHostPrompt? Prompt { get; init; }

    /// <summary>Told about refusals as they happen, as coded warnings (SBX6013 with its remedy as data, SBX6006–SBX6008, SBX6014): see <see cref="EgressProxy.Start"/>.</summary>
    public Action<Diagnostic>? OnBlocked { get; init; }

    /// <summary>Told when the user allows a host for good.</summary>
    public Action<HostRule>? OnAlways { get; init; }

    /// <summary>Told of every connection record as the proxy makes it: each decision, with its remedy when refused.</summary>
    public Action<ConnectionRecord>? OnConnection { get; init; }

    /// <summary>How this host names a widening in refusals (the CLI: <c>--allow-host X</c>); neutral when <see langword="null"/>.</summary>
    public IRemedyWording? Wording { get; init; }

    /// <summary>The run's name in the <see cref="ProxyEvent"/>s of a <see cref="ProxyHost"/> that serves it (a step, a call's id).</summary>
    public string? Name { get; init; }
}
