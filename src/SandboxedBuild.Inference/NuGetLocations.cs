using SandboxedBuild.Errors;

namespace SandboxedBuild.Inference;

/// <summary>
/// The folders NuGet derives from the environment, computed from a given environment rather than from
/// the process's own.
/// </summary>
/// <remarks>
/// NuGet.Common computes these in <c>NuGetEnvironment</c> from the process environment and caches them
/// for the life of the process (the home directory behind a <c>Lazy</c>), so they cannot describe another
/// environment, and a test with a fake home would otherwise read the real user's files. The rules below
/// are NuGet 8.0's for Linux and macOS (Windows has no sandbox backend, SBX1009); <c>NuGetLocationsTests</c>
/// checks them against NuGet for the process environment.
/// </remarks>
internal sealed class NuGetLocations
{
    private NuGetLocations(string home, string userSettingsDirectory, string machineWideBaseDirectory, string localApplicationData)
    {
        Home = home;
        UserSettingsDirectory = userSettingsDirectory;
        MachineWideBaseDirectory = machineWideBaseDirectory;
        LocalApplicationData = localApplicationData;
    }

    /// <summary><c>DOTNET_CLI_HOME</c>, else <c>HOME</c>: NuGet's idea of the user's home.</summary>
    public string Home { get; }

    /// <summary><c>~/.nuget/NuGet</c>.</summary>
    public string UserSettingsDirectory { get; }

    /// <summary>The user-level config file, whether it exists or not.</summary>
    public string UserConfigFile => Path.Combine(UserSettingsDirectory, "NuGet.Config");

    /// <summary>Additional read-only user-level configs (<c>*.config</c>) live here.</summary>
    public string AdditionalUserConfigDirectory => Path.Combine(UserSettingsDirectory, "config");

    /// <summary><c>$NUGET_COMMON_APPLICATION_DATA/NuGet</c>, else <c>/etc/opt/NuGet</c> (Linux) or <c>/Library/Application Support/NuGet</c> (macOS).</summary>
    public string MachineWideBaseDirectory { get; }

    /// <summary>Machine-wide configs (<c>*.config</c>) live here.</summary>
    public string MachineWideConfigDirectory => Path.Combine(MachineWideBaseDirectory, "Config");

    /// <summary>The file whose sources NuGet adds even to a cleared list.</summary>
    public string DefaultsFile => Path.Combine(MachineWideBaseDirectory, "NuGetDefaults.config");

    /// <summary>The global packages folder when neither the environment nor a config names one.</summary>
    public string DefaultGlobalPackagesFolder => Path.Combine(Home, ".nuget", "packages");

    /// <summary><c>$XDG_DATA_HOME</c>, else <c>~/.local/share</c>.</summary>
    public string LocalApplicationData { get; }

    /// <summary>The HTTP cache when <c>NUGET_HTTP_CACHE_PATH</c> is not set.</summary>
    public string DefaultHttpCacheFolder =>
        Path.Combine(LocalApplicationData, "NuGet", "http-cache");

    /// <summary>Computes the folders from <paramref name="environment"/>.</summary>
    /// <exception cref="SandboxException">SBX3009 when neither DOTNET_CLI_HOME nor HOME holds an absolute path.</exception>
    public static NuGetLocations From(IReadOnlyDictionary<string, string> environment)
    {
        // NuGet takes DOTNET_CLI_HOME whenever it is set, even empty; an empty one would make every
        // path relative to the current directory, which no one means, so an empty value counts as unset.
        var variable = Get(environment, "DOTNET_CLI_HOME") is not null ? "DOTNET_CLI_HOME" : "HOME";
        var home = Get(environment, variable) ?? string.Empty;
        if (!Path.IsPathRooted(home))
        {
            throw new SandboxException(Errors.Errors.NuGetVariableInvalid, variable, home);
        }

        home = Path.TrimEndingDirectorySeparator(Path.GetFullPath(home));
        var userSettings = Path.Combine(home, ".nuget", "NuGet");
        var machineBase = Path.Combine(
            OperatingSystem.IsMacOS() ? "/Library/Application Support" : Get(environment, "NUGET_COMMON_APPLICATION_DATA") ?? "/etc/opt",
            "NuGet");
        var localData = Get(environment, "XDG_DATA_HOME") ?? Path.Combine(home, ".local", "share");
        return new NuGetLocations(home, userSettings, machineBase, localData);
    }

    /// <summary>A variable's value, or <see langword="null"/> when it is unset or empty.</summary>
    public static string? Get(IReadOnlyDictionary<string, string> environment, string name) =>
        environment.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;
}
