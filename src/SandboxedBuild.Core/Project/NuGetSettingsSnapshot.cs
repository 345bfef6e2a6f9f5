using System.Collections.Immutable;

namespace SandboxedBuild.Project;

/// <summary>
/// The effective NuGet configuration of a directory, as a restore started there would see it.
/// </summary>
/// <param name="GlobalPackagesFolder">The absolute path packages are extracted to.</param>
/// <param name="GlobalPackagesFolderReason">
/// Where <paramref name="GlobalPackagesFolder"/> comes from: <c>NUGET_PACKAGES environment variable</c>,
/// <c>globalPackagesFolder in /repo/NuGet.config</c>, or <c>NuGet default (~/.nuget/packages)</c>.
/// </param>
/// <param name="HttpCacheFolder">The absolute path of NuGet's HTTP cache.</param>
/// <param name="FallbackFolders">Read-only package folders consulted before downloading, in order.</param>
/// <param name="Sources">Enabled package sources after <c>&lt;clear/&gt;</c> and <c>&lt;disabledPackageSources&gt;</c>, in effective order.</param>
/// <param name="ConfigFiles">Every config file that was read, highest priority first.</param>
/// <param name="UserConfigFile">The user-level <c>NuGet.Config</c> path, whether it exists or not.</param>
public sealed record NuGetSettingsSnapshot(
    string GlobalPackagesFolder,
    string GlobalPackagesFolderReason,
    string HttpCacheFolder,
    ImmutableArray<string> FallbackFolders,
    ImmutableArray<NuGetSource> Sources,
    ImmutableArray<string> ConfigFiles,
    string? UserConfigFile)
{
    /// <summary>
    /// Enabled sources of <c>&lt;auditSources&gt;</c>: where a restore fetches vulnerability data instead
    /// of from <see cref="Sources"/> when the section is present (NuGet 6.12 and later).
    /// </summary>
    public ImmutableArray<NuGetSource> AuditSources { get; init; } = [];
}
