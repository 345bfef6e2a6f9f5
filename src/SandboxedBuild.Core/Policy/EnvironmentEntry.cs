using SandboxedBuild.Network;

namespace SandboxedBuild.Policy;

/// <summary>One environment variable the sandboxed command receives, with the reason.</summary>
/// <param name="Name">The variable's name.</param>
/// <param name="Value">Its value.</param>
/// <param name="Why">Why it is passed or set; for a user's setting, without the host's words for the setting (<see cref="Origin"/>).</param>
/// <param name="LooksSecret">Whether the name matches a secret pattern; the value is then never printed.</param>
/// <param name="Origin">Where the entry comes from; <see langword="null"/> for the sandbox's own defaults.</param>
public sealed record EnvironmentEntry(string Name, string Value, string Why, bool LooksSecret = false, Origin? Origin = null)
{
    /// <summary>The whole reason, with the origin in <paramref name="wording"/>'s words.</summary>
    public string Reason(IRemedyWording wording) => (Origin ?? Network.Origin.BuiltIn).Reason(Why, wording);

    /// <summary>The whole reason in neutral words.</summary>
    public string Reason() => Reason(RemedyWording.Neutral);
}
