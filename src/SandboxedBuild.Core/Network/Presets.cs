namespace SandboxedBuild.Network;

/// <summary>Named sets of hosts that a .NET build commonly needs.</summary>
public static class Presets
{
    /// <summary>The presets on unless the user says otherwise.</summary>
    public static readonly string[] Default = ["nuget"];

    private static readonly Dictionary<string, (string Host, int? Port, string Why)[]> All = new(StringComparer.OrdinalIgnoreCase)
    {
        // Restore reads the service index, registrations and packages from api.nuget.org.
        // www.nuget.org is where packages are pushed (published); restore never needs it.
        ["nuget"] =
        [
            ("api.nuget.org", null, "NuGet feed: service index, package metadata and downloads (publishing at www.nuget.org is not included)"),
            // Verifying the signatures on nuget.org packages checks the certificates' revocation
            // with their issuer; without these, every restore reports blocked requests.
            ("crl3.digicert.com", null, "certificate revocation lists for the signatures on nuget.org packages"),
            ("crl4.digicert.com", null, "certificate revocation lists for the signatures on nuget.org packages"),
            ("ocsp.digicert.com", null, "certificate status (OCSP) for the signatures on nuget.org packages"),

            // Microsoft's own packages are signed by Microsoft too: a restore into an empty packages
            // folder fetches the revocation lists at http://www.microsoft.com/pkiops/. Port 80 only,
            // and plain http:// requests only: a preset entry never opens a tunnel to port 80.
            ("www.microsoft.com", 80, "certificate revocation lists for the signatures on Microsoft's packages (plain HTTP requests only)"),
        ],
        ["npm"] = [("registry.npmjs.org", null, "npm registry: package metadata and tarballs")],
        ["github"] =
        [
            ("github.com", null, "GitHub: git over HTTPS and releases"),
            ("codeload.github.com", null, "GitHub: source archives"),
            ("objects.githubusercontent.com", null, "GitHub: release and LFS downloads"),
        ],
        ["dotnet"] =
        [
            ("builds.dotnet.microsoft.com", null, ".NET SDK and runtime downloads (dotnet-install, workloads)"),
            ("dotnetcli.azureedge.net", null, ".NET SDK and runtime downloads (older dotnet-install scripts)"),
        ],
    };

    /// <summary>The names of every preset.</summary>
    public static IEnumerable<string> Names => All.Keys.Order(StringComparer.Ordinal);

    /// <summary>The first preset, by name, that lets <paramref name="host"/> reach <paramref name="port"/> (plain HTTP requests only, for a preset entry on port 80); <see langword="null"/> when none does.</summary>
    public static string? Having(string host, int port) =>
        Names.FirstOrDefault(name => Get(name)!.Any(r => r.MatchesHost(host) && r.MatchesPort(port)));

    /// <summary>The rules of a preset, or <see langword="null"/> for an unknown name.</summary>
    public static IReadOnlyList<HostRule>? Get(string name) =>
        All.TryGetValue(name, out var hosts)
            ? [.. hosts.Select(h => new HostRule(h.Host, h.Port, $"preset '{name.ToLowerInvariant()}': {h.Why}", new Origin(OriginKind.Preset, name.ToLowerInvariant())))]
            : null;
}
