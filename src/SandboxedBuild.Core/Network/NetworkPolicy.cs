using SandboxedBuild.Errors;
using System.Collections.Immutable;

namespace SandboxedBuild.Network;

/// <summary>How the sandbox reaches the network.</summary>
public enum NetworkMode
{
    /// <summary>No network: only the sandbox's own loopback.</summary>
    None,

    /// <summary>Only through the egress proxy, to the hosts the allowlist names.</summary>
    Filtered,

    /// <summary>Through the egress proxy to any host not denied, recording every one: for writing an allowlist.</summary>
    Audit,
}

/// <summary>What the proxy decided about one connection.</summary>
public enum Verdict
{
    /// <summary>Let through.</summary>
    Allowed,

    /// <summary>Refused.</summary>
    Denied,

    /// <summary>No rule decides: ask the user at a terminal, deny without one.</summary>
    Undecided,
}

/// <summary>A decision with its reason and the rule that made it.</summary>
/// <param name="Verdict">The verdict.</param>
/// <param name="Reason">Why, in words, without the remedy.</param>
/// <param name="Rule">The deciding rule, if one did.</param>
/// <param name="Remedy">For a refusal that a widening would lift, that widening, as data.</param>
public sealed record Decision(Verdict Verdict, string Reason, HostRule? Rule = null, HostRemedy? Remedy = null);

/// <summary>The network part of a policy: the mode, the allowlist and the deny-list.</summary>
/// <param name="Mode">None, filtered or audit.</param>
/// <param name="Allow">Hosts the sandbox may reach.</param>
/// <param name="Deny">Hosts it may never reach; the deny-list wins.</param>
/// <param name="Reason">Why the network is what it is.</param>
/// <param name="ProxyPort">The loopback port inside the sandbox where the proxy is reached (0 without network).</param>
public sealed record NetworkPolicy(NetworkMode Mode, ImmutableArray<HostRule> Allow, ImmutableArray<HostRule> Deny, string Reason, int ProxyPort = 0)
{
    /// <summary>Loopback inside the sandbox only; no route out.</summary>
    public static NetworkPolicy None { get; } = new(NetworkMode.None, [], [], "no network: the sandbox has only its own loopback interface");

    /// <summary>
    /// Loopback ports the bridge forwards to the host's loopback: those an allow entry names with a
    /// port for <c>localhost</c>, <c>127.0.0.1</c> or <c>::1</c>. Clients skip the proxy for loopback
    /// (NO_PROXY), so without a listener inside they would reach only the sandbox's own loopback.
    /// </summary>
    /// <remarks>
    /// Only ports from 1024 up: the sandbox keeps no capability to listen below. A deny entry for any
    /// spelling of loopback (localhost, 127.0.0.1, ::1) stops the forward of its port, or of every
    /// port without one: the deny-list wins whatever the spelling.
    /// </remarks>
    public IReadOnlyList<(int Port, HostRule Rule)> LoopbackForwards() =>
        Mode == NetworkMode.None
            ? []
            : [.. Allow.Where(r => r.Port is >= 1024 && r.Port != ProxyPort && IsLoopbackName(r.Host))
                .Where(r => !Deny.Any(d => LoopbackNames.Any(d.MatchesHost) && (d.Port is null || d.Port == r.Port)))
                .DistinctBy(r => r.Port)
                .Select(r => (r.Port!.Value, r))];

    private static readonly string[] LoopbackNames = ["localhost", "127.0.0.1", "::1"];

    /// <summary>Whether an entry's host is a spelling of this machine's loopback.</summary>
    internal static bool IsLoopbackName(string host) => LoopbackNames.Contains(host, StringComparer.Ordinal);

    /// <summary>Decides a connection to <paramref name="host"/>:<paramref name="port"/> by name (addresses are checked later, at dial time).</summary>
    /// <param name="host">The host asked for.</param>
    /// <param name="port">The port asked for.</param>
    /// <param name="wording">How the host names the settings rules come from, in the decision's reason; <see cref="RemedyWording.Neutral"/> when <see langword="null"/>.</param>
    public Decision Decide(string host, int port, IRemedyWording? wording = null) => Decide(host, port, tunnel: false, wording);

    /// <summary>
    /// Decides a connection as <see cref="Decide(string, int, IRemedyWording?)"/> does, knowing whether it is a tunnel
    /// (<c>CONNECT</c>) or one plain-HTTP request. A tunnel to port 80 needs an entry that names port 80, and is not a
    /// preset's (those name port 80 for plain requests to certificate hosts only): plain HTTP
    /// through the proxy comes as <c>http://</c> requests, whose Host header the proxy holds to the host it decided,
    /// while inside a tunnel the command could name any site the server (a CDN's shared address) also serves.
    /// </summary>
    /// <param name="host">The host asked for.</param>
    /// <param name="port">The port asked for.</param>
    /// <param name="tunnel">Whether the connection is a <c>CONNECT</c> tunnel.</param>
    /// <param name="wording">How the host names the settings rules come from; <see cref="RemedyWording.Neutral"/> when <see langword="null"/>.</param>
    public Decision Decide(string host, int port, bool tunnel, IRemedyWording? wording = null)
    {
        wording ??= RemedyWording.Neutral;
        host = HostRule.NormalizeHost(host);
        if (Mode == NetworkMode.None)
        {
            return new Decision(Verdict.Denied, "the sandbox has no network");
        }

        if (Deny.FirstOrDefault(r => r.MatchesHost(host) && (r.Port is null || r.Port == port)) is { } deny)
        {
            return new Decision(Verdict.Denied, $"on the deny-list ({deny}: {deny.Reason(wording)})", deny);
        }

        var named = Allow.Where(r => r.MatchesHost(host)).ToList();
        var plainHttpTunnel = tunnel && port == 80;
        if (named.FirstOrDefault(r => plainHttpTunnel ? r.Port == 80 && r.Origin?.Kind != OriginKind.Preset : r.MatchesPort(port)) is { } allow)
        {
            return new Decision(Verdict.Allowed, allow.Reason(wording), allow);
        }

        if (Mode == NetworkMode.Audit)
        {
            return new Decision(Verdict.Allowed, "audit mode: let through and recorded");
        }

        var display = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        if (plainHttpTunnel && named.Any(r => r.MatchesPort(port)))
        {
            return new Decision(
                Verdict.Denied,
                $"a tunnel (CONNECT) to port 80 of {display} needs an entry that names port 80: plain HTTP goes through the proxy as http:// requests, whose Host the proxy checks",
                Remedy: new HostRemedy($"{display}:80"));
        }

        var ports = named.Any(r => r.Port is null)
            ? "only 443 and 80 unless a port is named"
            : "its entries name only port " + string.Join(", ", named.Select(r => r.Port!.Value).Distinct().Order().Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return named.Count > 0
            ? new Decision(Verdict.Denied, $"port {port} is not allowed for {display} ({ports})", Remedy: new HostRemedy($"{display}:{port}"))
            : new Decision(Verdict.Undecided, "not on the allowlist", Remedy: new HostRemedy(display + (HostRule.DefaultPorts.Contains(port) ? string.Empty : $":{port}"), Presets.Having(host, port)));
    }
}
