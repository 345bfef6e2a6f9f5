using SandboxedBuild.Network;

namespace SandboxedBuild.Core.Tests;

/// <summary>Remedy wordings of two kinds of host, for the tests of how refusals read.</summary>
internal static class TestWordings
{
    /// <summary>As the CLI says it (its own class is internal to it).</summary>
    public static IRemedyWording Option { get; } = new Wording(pattern => "--allow-host " + pattern, setting => "--" + setting + " on the command line");

    /// <summary>As an MSBuild task would say it.</summary>
    public static IRemedyWording Item { get; } = new Wording(pattern => $"<SandboxAllowedHost Include=\"{pattern}\" />", setting => setting switch
    {
        Origin.Settings.AllowRead => "SandboxReadablePath",
        Origin.Settings.AllowWrite => "SandboxWritablePath",
        Origin.Settings.AllowHost => "SandboxAllowedHost",
        _ => "Sandbox " + setting,
    });

    private sealed class Wording(Func<string, string> allowHost, Func<string, string> fromSetting) : IRemedyWording
    {
        public string AllowHost(string pattern) => allowHost(pattern);

        public string FromSetting(string setting) => fromSetting(setting);
    }
}
