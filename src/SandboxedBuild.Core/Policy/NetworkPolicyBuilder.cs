using System.Collections.Immutable;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;

namespace SandboxedBuild.Policy;

/// <summary>
/// The network part of a policy: no network at all, or the egress proxy with the default presets, the
/// named presets, saved and project hosts and the options' own entries. Every host option is checked
/// whatever the mode, and host options without network are refused rather than dropped.
/// </summary>
internal static class NetworkPolicyBuilder
{
    /// <summary>The network part: none, or the proxy with presets, saved hosts and the command line's entries.</summary>
    public static NetworkPolicy Build(ExecOptions options, ICollection<Diagnostic> warnings, IReadOnlyList<HostRule>? projectHosts = null)
    {
        // Everything is checked whatever the mode: a typo is an error with or without network.
        var words = options.Wording ?? RemedyWording.Neutral;
        var allow = new List<HostRule>();
        foreach (var name in (options.NoDefaultPresets ? [] : Presets.Default).Concat(options.Presets).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            allow.AddRange(Presets.Get(name) ?? throw new SandboxException(Errors.Errors.UnknownPreset, name, string.Join(", ", Presets.Names)));
        }

        var allowHosts = options.AllowHosts.Select(h => HostRule.Parse(h, words.Setting(Origin.Settings.AllowHost), string.Empty, Origin.Setting(Origin.Settings.AllowHost))).ToList();
        var deny = options.DenyHosts.Select(h => HostRule.Parse(h, words.Setting(Origin.Settings.DenyHost), string.Empty, Origin.Setting(Origin.Settings.DenyHost))).ToImmutableArray();
        if (options.NetworkMode == NetworkMode.None)
        {
            // Without network there is no proxy to apply them: refusing the combination is more
            // honest than accepting options that silently do nothing.
            var named = new[] { (Origin.Settings.AllowHost, options.AllowHosts.Count), (Origin.Settings.DenyHost, options.DenyHosts.Count), (Origin.Settings.Preset, options.Presets.Count) }
                .Where(o => o.Item2 > 0).Select(o => words.Setting(o.Item1)).ToList();
            return named.Count == 0
                ? NetworkPolicy.None
                : throw new SandboxException(Errors.Errors.HostsWithoutNetwork, string.Join(", ", named));
        }

        allow.AddRange(options.SavedHosts);
        allow.AddRange(projectHosts ?? []);
        allow.AddRange(allowHosts);
        if (options.NetworkMode == NetworkMode.Audit)
        {
            warnings.Add(Errors.Errors.AuditMode.With());
        }

        foreach (var low in allow.Where(r => r.Port is < 1024 && NetworkPolicy.IsLoopbackName(r.Host)))
        {
            warnings.Add(Errors.Errors.LoopbackPortNotForwarded.With(low, low.Port));
        }

        var reason = options.NetworkMode == NetworkMode.Audit
            ? "AUDIT: every host that is not denied is reachable through the egress proxy, and recorded"
            : "only through the egress proxy, to the hosts below; direct connections, raw addresses and DNS have no route";
        return new NetworkPolicy(options.NetworkMode, [.. allow], deny, reason, options.ProxyPort);
    }
}
