namespace SandboxedBuild.Network;

/// <summary>Named sets of hosts that a .NET build commonly needs.</summary>
public static class Presets
{
    /// <summary>The presets on unless the user says otherwise.</summary>
    public static readonly string[] Default = ["nuget"];

    private static readonly Dictionary<string, (string Host, string Why)[]> All = new(StringComparer.OrdinalIgnoreCase)
    {
        // Restore reads the service index, registrations and packages from api.nuget.org.
        // www.nuget.org is where packages are pushed (published); restore never needs it.
        ["nuget"] =
        [
            ("api.nuget.org", "NuGet feed: service index, package metadata and downloads (publishing at www.nuget.org is not included)"),
            // Verifying the signatures on nuget.org packages checks the certificates' revocation
            // with their issuer; without these, every restore reports blocked requests.
            ("crl3.digicert.com", "certificate revocation lists for the signatures on nuget.org packages"),
            ("crl4.digicert.com", "certificate revocation lists for the signatures on nuget.org packages"),
            ("ocsp.digicert.com", "certificate status (OCSP) for the signatures on nuget.org packages"),
        ],
        ["npm"] = [("registry.npmjs.org", "npm registry: package metadata and tarballs")],
        ["github"] =
        [
            ("github.com", "GitHub: git over HTTPS and releases"),
            ("codeload.github.com", "GitHub: source archives"),
            ("objects.githubusercontent.com", "GitHub: release and LFS downloads"),
        ],
        ["dotnet"] =
        [
            ("builds.dotnet.microsoft.com", ".NET SDK and runtime downloads (dotnet-install, workloads)"),
            ("dotnetcli.azureedge.net", ".NET SDK and runtime downloads (older dotnet-install scripts)"),
        ],
    };

    /// <summary>The names of every preset.</summary>
    public static IEnumerable<string> Names => All.Keys.Order(StringComparer.Ordinal);

    /// <summary>The rules of a preset, or <see langword="null"/> for an unknown name.</summary>
    public static IReadOnlyList<HostRule>? Get(string name) =>
        All.TryGetValue(name, out var hosts)
            ? [.. hosts.Select(h => new HostRule(h.Host, null, $"preset '{name.ToLowerInvariant()}': {h.Why}", new Origin(OriginKind.Preset, name.ToLowerInvariant())))]
            : null;
}
