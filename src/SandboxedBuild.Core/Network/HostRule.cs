using System.Globalization;
using System.Net;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Network;

/// <summary>
/// One allow- or deny-list entry: an exact host, a <c>*.suffix</c> wildcard, or a literal address,
/// with an optional port. Without a port the entry covers 443 and 80 only.
/// </summary>
/// <param name="Host">Lower-case host name, <c>*.suffix</c>, or a normalized IP address.</param>
/// <param name="Port">The one port the entry covers, or <see langword="null"/> for the default ports.</param>
/// <param name="Why">Why the entry exists; for a user's setting, without the host's words for the setting (<see cref="Origin"/>).</param>
/// <param name="Origin">Where the entry comes from; <see langword="null"/> for the sandbox's own defaults.</param>
public sealed record HostRule(string Host, int? Port, string Why, Origin? Origin = null)
{
    /// <summary>The whole reason, with the origin in <paramref name="wording"/>'s words.</summary>
    public string Reason(IRemedyWording wording) => (Origin ?? Network.Origin.BuiltIn).Reason(Why, wording);

    /// <summary>The whole reason in neutral words.</summary>
    public string Reason() => Reason(RemedyWording.Neutral);

    /// <summary>
    /// Where the entry comes from, without its explanation, in <paramref name="wording"/>'s words:
    /// "preset 'nuget'", "--allow-host on the command line", the whole reason for the rest.
    /// </summary>
    public string Source(IRemedyWording wording) => Origin switch
    {
        { Kind: OriginKind.Setting } o => o.Describe(wording)!,
        { Kind: OriginKind.Preset, Name: { } preset } => $"preset '{preset}'",
        _ => Reason(wording),
    };

    /// <summary>The ports an entry without a port covers.</summary>
    public static readonly int[] DefaultPorts = [443, 80];

    /// <summary>Whether the entry names a literal address rather than a name.</summary>
    public bool IsAddress => IPAddress.TryParse(Host, out _);

    /// <summary>Parses <c>host</c>, <c>host:port</c>, <c>*.suffix[:port]</c>, <c>1.2.3.4[:port]</c> or <c>[::1][:port]</c>.</summary>
    /// <exception cref="SandboxException">SBX6001 when the text is not a host pattern.</exception>
    public static HostRule Parse(string text, string option, string reason, Origin? origin = null)
    {
        var host = text.Trim();
        int? port = null;
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw Invalid(text, option);
            }

            if (close + 1 < host.Length)
            {
                port = host[close + 1] == ':' ? ParsePort(host[(close + 2)..], text, option) : throw Invalid(text, option);
            }

            host = host[1..close];
        }
        else if (host.Count(c => c == ':') == 1)
        {
            var colon = host.IndexOf(':', StringComparison.Ordinal);
            port = ParsePort(host[(colon + 1)..], text, option);
            host = host[..colon];
        }

        var normalized = NormalizeHost(host);
        var name = normalized.StartsWith("*.", StringComparison.Ordinal) ? normalized[2..] : normalized;
        if (name.Length == 0 || (!IPAddress.TryParse(name, out _) && !IsHostName(name)))
        {
            throw Invalid(text, option);
        }

        return new HostRule(normalized, port, reason, origin);
    }

    /// <summary>Lower-cases a host, drops a trailing dot and brackets, and normalizes IP literals.</summary>
    public static string NormalizeHost(string host)
    {
        host = host.Trim().TrimEnd('.').ToLowerInvariant();
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return IPAddress.TryParse(host, out var address) ? Normalize(address).ToString() : host;
    }

    /// <summary>Whether the entry's host part covers <paramref name="host"/> (already normalized).</summary>
    public bool MatchesHost(string host) =>
        Host.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(Host[1..], StringComparison.Ordinal) && host.Length > Host.Length - 1
            : string.Equals(Host, host, StringComparison.Ordinal);

    /// <summary>Whether the entry covers <paramref name="port"/>.</summary>
    public bool MatchesPort(int port) => Port is { } p ? p == port : DefaultPorts.Contains(port);

    /// <summary>The entry as a user would type it.</summary>
    public override string ToString()
    {
        var host = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
        return Port is { } p ? $"{host}:{p.ToString(CultureInfo.InvariantCulture)}" : host;
    }

    internal static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static int ParsePort(string text, string original, string option) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw Invalid(original, option);

    private static bool IsHostName(string name) =>
        name.Split('.').All(label => label.Length is > 0 and < 64 && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') && label[0] != '-' && label[^1] != '-');

    private static SandboxException Invalid(string text, string option) => new(Errors.Errors.InvalidHostPattern, option, text);
}
