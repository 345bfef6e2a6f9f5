using NuGet.Common;
using NuGet.Configuration;
using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

/// <summary>
/// The folders are computed here from a given environment; for the process's own environment they
/// must be NuGet's. Nothing is read: these are path computations only.
/// </summary>
public sealed class NuGetLocationsTests
{
    private static readonly NuGetLocations Process = NuGetLocations.From(
        Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? string.Empty, StringComparer.Ordinal));

    [Fact]
    public void The_user_settings_directory_is_NuGets() =>
        Assert.Equal(NuGetEnvironment.GetFolderPath(NuGetFolderPath.UserSettingsDirectory), Process.UserSettingsDirectory);

    [Fact]
    public void The_machine_wide_config_directory_is_NuGets() =>
        Assert.Equal(NuGetEnvironment.GetFolderPath(NuGetFolderPath.MachineWideConfigDirectory), Process.MachineWideConfigDirectory);

    [Fact]
    public void The_default_HTTP_cache_is_NuGets() =>
        Assert.Equal(NuGetEnvironment.GetFolderPath(NuGetFolderPath.HttpCacheDirectory), Process.DefaultHttpCacheFolder);

    [Fact]
    public void The_default_global_packages_folder_is_NuGets() =>
        Assert.Equal(
            Path.TrimEndingDirectorySeparator(Path.Combine(NuGetEnvironment.GetFolderPath(NuGetFolderPath.NuGetHome), SettingsUtility.DefaultGlobalPackagesFolderPath)),
            Process.DefaultGlobalPackagesFolder);

    [Fact]
    public void The_user_config_name_is_NuGets() =>
        Assert.Equal(Settings.DefaultSettingsFileName, Path.GetFileName(Process.UserConfigFile));
}
