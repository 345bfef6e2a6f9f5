using SandboxedBuild.Network;

namespace SandboxedBuild.Inference;

/// <summary>
/// One enabled package source of the effective NuGet configuration.
/// </summary>
/// <param name="Name">The source's key in <c>&lt;packageSources&gt;</c>.</param>
/// <param name="Url">
/// The source as NuGet uses it: an <c>http(s)</c> URL, or the absolute path of a local folder feed
/// (relative values are resolved against the directory of the config file; <c>file://</c>
/// URLs become paths). <c>%VARIABLE%</c> references are expanded from the environment given to
/// <see cref="NuGetSettingsReader.Read"/>.
/// </param>
/// <param name="Origin">
/// The config file that defines the source, and its kind: only a source of the user's own
/// configuration (<see cref="ConfigOrigin.IsTrusted"/>) is used without approval. For the
/// <c>nuget.org</c> source NuGet adds when the user-level config does not exist yet, this is that
/// (missing) user-level file, which NuGet creates with exactly that source on first use.
/// </param>
/// <param name="HasCredentials">
/// Whether a restore would authenticate to the source: <c>&lt;packageSourceCredentials&gt;</c> for its
/// name, a <c>NuGetPackageSourceCredentials_NAME</c> variable, an endpoint in
/// <c>VSS_NUGET_EXTERNAL_FEED_ENDPOINTS</c>, or a user name in its URL.
/// </param>
public sealed record NuGetSource(string Name, string Url, ConfigOrigin Origin, bool HasCredentials)
{
    /// <summary>The path of the config file that defines the source (<see cref="ConfigOrigin.File"/>), for messages.</summary>
    public string ConfigFile => Origin.File ?? string.Empty;

    /// <summary>Whether <see cref="Url"/> is an <c>http</c> or <c>https</c> URL.</summary>
    public bool IsHttp => TryGetHttpUri(Url, out _);

    /// <summary>The normalized (lower-case, IDN-encoded) host of an HTTP source; <see langword="null"/> for a local one.</summary>
    public string? Host => TryGetHttpUri(Url, out var uri) ? HostOf(uri) : null;

    /// <summary>The port a restore connects to (the URL's, else 443 or 80); <see langword="null"/> for a local source.</summary>
    public int? Port => TryGetHttpUri(Url, out var uri) ? uri.Port : null;

    /// <summary>
    /// The <c>protocolVersion</c> attribute (2 when absent, as NuGet assumes). NuGet reads a source as a
    /// V3 service index when this is 3 or when an HTTP URL ends in <c>.json</c>.
    /// </summary>
    public int ProtocolVersion { get; init; } = 2;

    /// <summary>Whether NuGet treats the source as a V3 service index (see <see cref="ProtocolVersion"/>).</summary>
    public bool IsV3ServiceIndex =>
        IsHttp && (ProtocolVersion == 3 || Url.EndsWith(".json", StringComparison.OrdinalIgnoreCase));

    internal static bool TryGetHttpUri(string url, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Uri? uri)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var parsed)
            && (parsed.Scheme == Uri.UriSchemeHttps || parsed.Scheme == Uri.UriSchemeHttp)
            && parsed.Host.Length > 0)
        {
            uri = parsed;
            return true;
        }

        uri = null;
        return false;
    }

    internal static string HostOf(Uri uri) => HostRule.NormalizeHost(uri.IdnHost);
}
