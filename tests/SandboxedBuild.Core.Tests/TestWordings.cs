using SandboxedBuild.Network;

namespace SandboxedBuild.Core.Tests;

/// <summary>Remedy wordings of two kinds of host, for the tests of how refusals and reasons read.</summary>
internal static class TestWordings
{
    /// <summary>As the CLI says it (its own class is internal to it).</summary>
    public static IRemedyWording Option { get; } = new Wording(pattern => "--allow-host " + pattern, setting => "--" + setting);

    /// <summary>As an MSBuild task would say it.</summary>
    public static IRemedyWording Item { get; } = new Wording(pattern => $"<SandboxAllowedHost Include=\"{pattern}\" />", setting => setting switch
    {
        Origin.Settings.AllowRead => "SandboxReadablePath",
        Origin.Settings.AllowWrite => "SandboxWritablePath",
        Origin.Settings.AllowHost => "SandboxAllowedHost",
        _ => "Sandbox " + setting,
    });

    private sealed class Wording(Func<string, string> allowHost, Func<string, string> setting) : IRemedyWording
    {
        private readonly bool _option = setting("x").StartsWith("--", StringComparison.Ordinal);

        public string AllowHost(string pattern) => allowHost(pattern);

        // The CLI says where a rule comes from ("--allow-read on the command line"); a task names the parameter or item.
        public string FromSetting(string name) => _option ? setting(name) + " on the command line" : setting(name);

        public string Setting(string name) => setting(name);
    }
}
