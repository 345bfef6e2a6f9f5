using SandboxedBuild.Errors;

namespace SandboxedBuild.Network;

/// <summary>
/// How a host of the sandbox names a widening and a setting: the CLI as an option
/// (<c>--allow-host X</c>), an MSBuild task as an item (<c>&lt;SandboxAllowedHost Include="X" /&gt;</c>).
/// The sentence around it ("allow with …") is the library's.
/// </summary>
public interface IRemedyWording
{
    /// <summary>What allows <paramref name="pattern"/>, in this host's words.</summary>
    string AllowHost(string pattern);

    /// <summary>What turns on the preset <paramref name="name"/>, in this host's words (the CLI: <c>--preset npm</c>).</summary>
    string UsePreset(string name) => $"{Setting(Origin.Settings.Preset)} {name}";

    /// <summary>
    /// Where a rule from the setting <paramref name="setting"/> (<see cref="Origin.Settings"/>) comes
    /// from, in this host's words: "--allow-read on the command line", "SandboxReadablePath".
    /// </summary>
    string FromSetting(string setting);

    /// <summary>The setting <paramref name="setting"/> (<see cref="Origin.Settings"/>) itself, as errors about its values name it: "--allow-read", "SandboxReadablePath".</summary>
    string Setting(string setting);
}

/// <summary>The wordings the library knows.</summary>
public static class RemedyWording
{
    /// <summary>For a host that has said nothing: the bare pattern, quoted.</summary>
    public static IRemedyWording Neutral { get; } = new NeutralWording();

    /// <summary>
    /// A diagnostic's whole text as <see cref="Diagnostic.ToString()"/> lays it out, each setting it
    /// names (<c>{setting:allow-read}</c> in the catalog) in <paramref name="wording"/>'s words:
    /// <c>--allow-read</c> for the CLI, <c>SandboxReadablePath</c> for a task.
    /// </summary>
    public static string Text(this IRemedyWording wording, Diagnostic diagnostic)
    {
        ArgumentNullException.ThrowIfNull(wording);
        ArgumentNullException.ThrowIfNull(diagnostic);
        return diagnostic.ToString(wording.Setting);
    }

    /// <summary>
    /// A diagnostic's message followed by its remedy in <paramref name="wording"/>'s words, as a
    /// refusal is said in one line: "blocked: host:443 — not on the allowlist; allow with X".
    /// </summary>
    public static string MessageWithRemedy(this IRemedyWording wording, Diagnostic diagnostic)
    {
        ArgumentNullException.ThrowIfNull(wording);
        ArgumentNullException.ThrowIfNull(diagnostic);
        return wording.WithRemedy(diagnostic.FormatMessage(wording.Setting), diagnostic.Remedy);
    }

    /// <summary><paramref name="text"/>, then "; allow with X" when there is a remedy: how a refusal reads in one line.</summary>
    internal static string WithRemedy(this IRemedyWording wording, string text, HostRemedy? remedy) =>
        remedy is null ? text : text + "; " + wording.Sentence(remedy);

    /// <summary>"allow with X", X in <paramref name="wording"/>'s words.</summary>
    public static string Sentence(this IRemedyWording wording, HostRemedy remedy)
    {
        ArgumentNullException.ThrowIfNull(wording);
        ArgumentNullException.ThrowIfNull(remedy);
        return "allow with " + wording.AllowHost(remedy.Pattern) + (remedy.Preset is { } preset ? $" (or {wording.UsePreset(preset)}, which has it)" : string.Empty);
    }

    private sealed class NeutralWording : IRemedyWording
    {
        public string AllowHost(string pattern) => $"the host pattern '{pattern}'";

        public string UsePreset(string name) => $"the preset '{name}'";

        public string FromSetting(string setting) => $"the setting '{setting}'";

        public string Setting(string setting) => Diagnostic.NeutralSetting(setting);
    }
}
