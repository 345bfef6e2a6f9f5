using SandboxedBuild.Errors;
using SandboxedBuild.Network;

namespace SandboxedBuild.Cli;

/// <summary>How <c>dotnet sandbox</c> names a widening: the option that allows it.</summary>
internal sealed class CommandLineWording : IRemedyWording
{
    /// <summary>The one instance.</summary>
    public static CommandLineWording Instance { get; } = new();

    /// <summary>
    /// How the CLI says a refusal of the egress proxy as it happens: a refused destination as the
    /// one line it has always been ("blocked: host:443 — reason; allow with --allow-host host", its
    /// code SBX6013 left out, as in the run's summary), any other as its coded text.
    /// </summary>
    public static string Said(Diagnostic refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        return refusal.Error == Errors.Errors.ConnectionBlocked ? Instance.MessageWithRemedy(refusal) : Instance.Text(refusal);
    }

    /// <inheritdoc/>
    public string AllowHost(string pattern) => "--allow-host " + pattern;

    /// <inheritdoc/>
    public string UsePreset(string name) => "--preset " + name;

    /// <inheritdoc/>
    public string FromSetting(string setting) => "--" + setting + " on the command line";

    /// <inheritdoc/>
    public string Setting(string setting) => "--" + setting;
}
