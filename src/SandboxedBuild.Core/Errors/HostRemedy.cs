namespace SandboxedBuild.Errors;

/// <summary>
/// The widening that would let a refused connection through, as data: the host pattern to allow
/// (<c>host</c>, <c>host:port</c>, <c>[v6]:port</c>, as <c>HostRule.Parse</c> reads it). Each host of
/// the sandbox says it in its own words (<c>IRemedyWording</c>); a <see cref="Diagnostic"/> of a
/// refusal carries it as <see cref="Diagnostic.Remedy"/>.
/// </summary>
/// <param name="Pattern">The host pattern that would allow it.</param>
/// <param name="Preset">A preset that has the host and port, when one does (<c>npm</c> for registry.npmjs.org): the other way to allow it.</param>
public sealed record HostRemedy(string Pattern, string? Preset = null);
