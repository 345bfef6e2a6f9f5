using System.Collections.Immutable;

namespace SandboxedBuild.Inference;

/// <summary>
/// The effective NuGet configuration of a directory, as a restore started there would see it.
/// </summary>
/// <param name="GlobalPackagesFolder">The absolute path packages are extracted to.</param>
/// <param name="GlobalPackagesFolderOrigin">
/// Where <paramref name="GlobalPackagesFolder"/> comes from: the <c>NUGET_PACKAGES</c> variable, the
/// <c>globalPackagesFolder</c> key of a config file (of the user's, the machine's or a project's), or
/// NuGet's default.
/// </param>
/// <param name="HttpCacheFolder">The absolute path of NuGet's HTTP cache.</param>
/// <param name="FallbackFolders">Read-only package folders consulted before downloading, in order, each with its origin.</param>
/// <param name="Sources">Enabled package sources after <c>&lt;clear/&gt;</c> and <c>&lt;disabledPackageSources&gt;</c>, in effective order.</param>
/// <param name="ConfigFiles">Every config file that was read, highest priority first.</param>
/// <param name="UserConfigFile">The user-level <c>NuGet.Config</c> path, whether it exists or not.</param>
public sealed record NuGetSettingsSnapshot(
    string GlobalPackagesFolder,
    ConfigOrigin GlobalPackagesFolderOrigin,
    string HttpCacheFolder,
    ImmutableArray<NuGetFolder> FallbackFolders,
    ImmutableArray<NuGetSource> Sources,
    ImmutableArray<string> ConfigFiles,
    string? UserConfigFile)
{
    /// <summary>Where <see cref="GlobalPackagesFolder"/> comes from, in words, for people (decisions use <see cref="GlobalPackagesFolderOrigin"/>).</summary>
    public string GlobalPackagesFolderReason => GlobalPackagesFolderOrigin.ToString();

    /// <summary>
    /// The config files NuGet found by walking up from the project directory (in the repository or any
    /// directory above it), highest priority first: <see cref="ConfigOriginKind.ProjectConfig"/>, since a
    /// sandboxed command may have written any of them.
    /// </summary>
    public ImmutableArray<string> ProjectConfigFiles { get; init; } = [];

    /// <summary>
    /// Enabled sources of <c>&lt;auditSources&gt;</c>: where a restore fetches vulnerability data instead
    /// of from <see cref="Sources"/> when the section is present (NuGet 6.12 and later).
    /// </summary>
    public ImmutableArray<NuGetSource> AuditSources { get; init; } = [];
}

/// <summary>A package folder of the NuGet configuration (a fallback folder), with where it comes from.</summary>
/// <param name="Path">The absolute path.</param>
/// <param name="Origin">The config file or variable that names it.</param>
public sealed record NuGetFolder(string Path, ConfigOrigin Origin);
