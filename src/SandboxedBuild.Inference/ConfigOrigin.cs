namespace SandboxedBuild.Inference;

/// <summary>Where a NuGet setting, source or folder comes from, by kind.</summary>
/// <remarks>
/// Only what the user set up outside every project is trusted: <see cref="UserConfig"/>,
/// <see cref="MachineConfig"/>, <see cref="Environment"/> and <see cref="NuGetDefault"/>. A config file
/// that NuGet finds by walking up from the project (in the repository or any directory above it) is
/// <see cref="ProjectConfig"/>, because a sandboxed command may have written it.
/// </remarks>
public enum ConfigOriginKind
{
    /// <summary><c>~/.nuget/NuGet/NuGet.Config</c> or <c>~/.nuget/NuGet/config/*.config</c> (also the default user config NuGet creates when it is missing).</summary>
    UserConfig,

    /// <summary>A machine-wide config (<c>$NUGET_COMMON_APPLICATION_DATA/NuGet/Config/*.config</c>, <c>/etc/opt/NuGet/Config</c>) or <c>NuGetDefaults.config</c>.</summary>
    MachineConfig,

    /// <summary>A variable of the caller's environment (<c>NUGET_PACKAGES</c>, <c>NUGET_FALLBACK_PACKAGES</c>).</summary>
    Environment,

    /// <summary>NuGet's built-in default (<c>~/.nuget/packages</c>).</summary>
    NuGetDefault,

    /// <summary>A <c>NuGet.config</c> in the project's directory or any directory above it: attacker-controlled.</summary>
    ProjectConfig,

    /// <summary>An MSBuild property or item of a project (<c>RestorePackagesPath</c>, <c>RestoreFallbackFolders</c>, <c>RestoreSources</c>): attacker-controlled.</summary>
    ProjectProperty,
}

/// <summary>The structured origin of a NuGet setting: its kind, the file, and the key, variable or property that named it.</summary>
/// <param name="Kind">What kind of place it comes from; the only input of trust decisions.</param>
/// <param name="File">The config or project file, when there is one.</param>
/// <param name="Name">The key, environment variable or MSBuild property, when there is one.</param>
public sealed record ConfigOrigin(ConfigOriginKind Kind, string? File = null, string? Name = null)
{
    /// <summary>NuGet's built-in default.</summary>
    public static ConfigOrigin Default { get; } = new(ConfigOriginKind.NuGetDefault);

    /// <summary>
    /// Whether the user's own configuration set it (user or machine config, the caller's environment,
    /// NuGet's defaults), so it applies without approval. Everything else needs approval.
    /// </summary>
    public bool IsTrusted => Kind is ConfigOriginKind.UserConfig or ConfigOriginKind.MachineConfig or ConfigOriginKind.Environment or ConfigOriginKind.NuGetDefault;

    /// <summary>For people only; never parsed. "globalPackagesFolder in /repo/NuGet.config", "NUGET_PACKAGES environment variable".</summary>
    public override string ToString() => Kind switch
    {
        ConfigOriginKind.Environment => $"{Name} environment variable",
        ConfigOriginKind.NuGetDefault => Name is null ? "NuGet default" : $"NuGet default ({Name})",
        ConfigOriginKind.ProjectProperty => $"{Name} of {File}",
        _ => Name is null ? File ?? string.Empty : $"{Name} in {File}",
    };
}
