namespace SandboxedBuild.Policy;

/// <summary>One environment variable the sandboxed command receives, with the reason.</summary>
/// <param name="Name">The variable's name.</param>
/// <param name="Value">Its value.</param>
/// <param name="Reason">Why it is passed or set.</param>
/// <param name="LooksSecret">Whether the name matches a secret pattern; the value is then never printed.</param>
public sealed record EnvironmentEntry(string Name, string Value, string Reason, bool LooksSecret = false);
