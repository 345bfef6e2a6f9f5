using SandboxedBuild.Network;

namespace SandboxedBuild.Cli;

/// <summary>How <c>dotnet sandbox</c> names a widening: the option that allows it.</summary>
internal sealed class CommandLineWording : IRemedyWording
{
    /// <summary>The one instance.</summary>
    public static CommandLineWording Instance { get; } = new();

    /// <inheritdoc/>
    public string AllowHost(string pattern) => "--allow-host " + pattern;

    /// <inheritdoc/>
    public string FromSetting(string setting) => "--" + setting + " on the command line";
}
