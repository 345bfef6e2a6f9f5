using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using NuGet.Configuration;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Inference;

/// <summary>
/// Reads the effective NuGet configuration of a project or solution directory: the config files a
/// restore started there reads, merged by NuGet.Configuration itself, and the folders and sources that
/// follow from them.
/// </summary>
/// <remarks>
/// <para>
/// NuGet.Configuration parses and merges the files (<c>&lt;clear/&gt;</c>, later keys overriding earlier
/// ones). Everything NuGet would take from the process environment is taken from the environment given
/// to <see cref="Read"/> instead: the home directory (<c>DOTNET_CLI_HOME</c>, <c>HOME</c>),
/// <c>XDG_DATA_HOME</c>, <c>NUGET_COMMON_APPLICATION_DATA</c>, <c>NUGET_PACKAGES</c>,
/// <c>NUGET_FALLBACK_PACKAGES</c>, <c>NUGET_HTTP_CACHE_PATH</c>, <c>NuGetPackageSourceCredentials_*</c>
/// and the <c>%VARIABLE%</c> references in values. That is why the file list, the folders and the
/// package-source list are computed here rather than by <c>Settings.LoadDefaultSettings</c>,
/// <c>SettingsUtility</c> and <c>PackageSourceProvider</c>, which read the process environment, cache the
/// home directory for the life of the process, create a missing user config, and open client
/// certificates. The rules follow NuGet 8.0.
/// </para>
/// <para>
/// Not covered: MSBuild properties that override the configuration per project (<c>RestoreSources</c>,
/// <c>RestoreAdditionalProjectSources</c>, <c>RestorePackagesPath</c>, <c>RestoreFallbackFolders</c>,
/// <c>RestoreConfigFile</c>) and a <c>--configfile</c> given to restore.
/// </para>
/// <para>
/// Every source, folder and the packages folder carries a <see cref="ConfigOrigin"/> that says, as data,
/// which kind of file or variable set it. A file found by walking up from the project directory is
/// <see cref="ConfigOriginKind.ProjectConfig"/> wherever it is (in the repository or above it); only
/// the user's own files under <c>~/.nuget</c>, the machine-wide ones, the caller's variables and
/// NuGet's defaults are trusted.
/// </para>
/// </remarks>
public static partial class NuGetSettingsReader
{
    private const string DefaultUserConfig = """
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
          </packageSources>
        </configuration>
        """;

    /// <summary>Reads the configuration a restore started in <paramref name="rootDirectory"/> would use.</summary>
    /// <param name="rootDirectory">The project or solution directory; the config chain starts here and goes up to the file-system root.</param>
    /// <param name="environment">The caller's environment, authoritative for every variable NuGet consults (see the remarks on the type).</param>
    /// <returns>The effective settings. Nothing is written: a missing user config is read as the default one NuGet would create.</returns>
    /// <exception cref="SandboxException">
    /// SBX3027 when a config file exists but the caller may not open it;
    /// SBX3008 when a config file cannot be read or is not valid (a restore would fail on it too);
    /// SBX3009 when a NuGet variable holds a relative path, or no home directory is set.
    /// </exception>
    public static NuGetSettingsSnapshot Read(string rootDirectory, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootDirectory);
        ArgumentNullException.ThrowIfNull(environment);

        var locations = NuGetLocations.From(environment);
        string? standIn = null;
        Interop.OwnedDirectory? standInDirectory = null;
        try
        {
            var files = FindConfigFiles(Path.GetFullPath(rootDirectory), locations);
            var paths = files.Select(f => f.Path).ToList();

            // NuGet creates a missing user config with nuget.org in it on first use, so that source is
            // part of what a restore sees. A private copy of that default stands in for it while reading,
            // in the user config's place, and what it contributes is attributed to the (missing) user config.
            if (!File.Exists(locations.UserConfigFile))
            {
                standInDirectory = Interop.OwnedDirectory.Create(Path.GetTempPath(), "dotnet-sandbox-nuget-");
                standIn = Path.Combine(standInDirectory.Path, "NuGet.Config");
                File.WriteAllText(standIn, DefaultUserConfig, Encoding.UTF8);
                var userPlace = files.FindIndex(f => f.Kind != ConfigKind.Project);
                paths.Insert(userPlace < 0 ? paths.Count : userPlace, standIn);
            }

            using var context = new SettingsLoadingContext();
            var settings = Load(paths, context);
            var defaults = File.Exists(locations.DefaultsFile) ? Load([locations.DefaultsFile], context) : null;

            // Provenance is decided by how a file was found, never by its path's text: a file of the
            // walk up from the project is the project's, even above the repository, even if it is also
            // found as the user's own (a project inside ~/.nuget/NuGet). Anything unknown is the project's.
            var kinds = new Dictionary<string, ConfigOriginKind>(StringComparer.Ordinal);
            foreach (var (path, kind) in files.Where(f => f.Kind == ConfigKind.Project).Concat(files.Where(f => f.Kind != ConfigKind.Project)))
            {
                kinds.TryAdd(path, kind == ConfigKind.User ? ConfigOriginKind.UserConfig : kind == ConfigKind.MachineWide ? ConfigOriginKind.MachineConfig : ConfigOriginKind.ProjectConfig);
            }

            if (standIn is not null)
            {
                kinds[standIn] = ConfigOriginKind.UserConfig;
            }

            if (defaults is not null)
            {
                kinds.TryAdd(locations.DefaultsFile, ConfigOriginKind.MachineConfig);
            }

            ConfigOrigin Origin(SettingItem item, string? name)
            {
                var path = item.ConfigPath ?? string.Empty;
                var kind = kinds.TryGetValue(path, out var k) ? k : ConfigOriginKind.ProjectConfig;
                return new ConfigOrigin(kind, path == standIn ? locations.UserConfigFile : path, name);
            }

            var machineWide = files.Where(f => f.Kind == ConfigKind.MachineWide).Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
            var (packagesFolder, packagesOrigin) = GlobalPackagesFolder(settings, environment, locations, Origin);
            var configFiles = files.Select(f => f.Path).ToList();
            if (defaults is not null)
            {
                configFiles.Add(locations.DefaultsFile);
            }

            return new NuGetSettingsSnapshot(
                packagesFolder,
                packagesOrigin,
                HttpCacheFolder(environment, locations),
                FallbackFolders(settings, environment, Origin),
                Sources(settings, defaults, ConfigurationConstants.PackageSources, environment, machineWide, Origin),
                [.. configFiles],
                locations.UserConfigFile)
            {
                AuditSources = Sources(settings, defaults, ConfigurationConstants.AuditSources, environment, machineWide, Origin),
                ProjectConfigFiles = [.. files.Where(f => f.Kind == ConfigKind.Project).Select(f => f.Path)],
            };
        }
        catch (Exception e) when (e is NuGetConfigurationException or IOException or UnauthorizedAccessException)
        {
            throw new SandboxException(Errors.Errors.NuGetConfigUnreadable, e.Message);
        }
        finally
        {
            standInDirectory?.Dispose();
        }
    }

    /// <summary>
    /// Refuses a config file that exists but cannot be opened (SBX3027), naming it, before
    /// NuGet.Configuration reads it and reports the failure in its own words.
    /// </summary>
    internal static void RequireReadable(IEnumerable<string> paths)
    {
        foreach (var path in paths.Where(File.Exists))
        {
            try
            {
                using var _ = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (UnauthorizedAccessException)
            {
                throw new SandboxException(Errors.Errors.NuGetConfigNotReadable, TerminalText.Name(path), "permission denied");
            }
            catch (IOException e)
            {
                throw new SandboxException(Errors.Errors.NuGetConfigNotReadable, TerminalText.Name(path), e.Message);
            }

            if (OperatingSystem.IsLinux() && Interop.NativeMethods.geteuid() == 0 && !ReadableWithoutOverride(path))
            {
                throw new SandboxException(Errors.Errors.NuGetConfigNotReadable, TerminalText.Name(path),
                    "its permissions give no read access to its owner or others; root opens it here, but the sandboxed restore runs without the power to override file permissions, and NuGet fails on it there");
            }
        }
    }

    /// <summary>
    /// Whether the permission bits alone let uid 0 read the file, as inside the sandbox (where root
    /// has no CAP_DAC_OVERRIDE): the owner's bits for a file root owns, else the group's or others'.
    /// </summary>
    private static bool ReadableWithoutOverride(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        var real = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
        var mode = File.GetUnixFileMode(real);
        return Interop.NativeMethods.Lstat(real) is { Uid: 0 }
            ? mode.HasFlag(UnixFileMode.UserRead)
            : (mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0;
    }

    /// <summary>Expands <c>%NAME%</c> references the way <see cref="Environment.ExpandEnvironmentVariables"/> does, from <paramref name="environment"/>.</summary>
    internal static string Expand(string value, IReadOnlyDictionary<string, string> environment)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        var result = new StringBuilder(value.Length);
        var i = 0;
        while (i < value.Length)
        {
            var open = value.IndexOf('%', i);
            var close = open < 0 ? -1 : value.IndexOf('%', open + 1);
            if (close < 0)
            {
                result.Append(value, i, value.Length - i);
                break;
            }

            result.Append(value, i, open - i);
            if (environment.TryGetValue(value[(open + 1)..close], out var replacement))
            {
                result.Append(replacement);
                i = close + 1;
            }
            else
            {
                // An unknown name stays as written, and its closing '%' may open the next reference.
                result.Append(value, open, close - open);
                i = close;
            }
        }

        return result.ToString();
    }

    /// <summary>Resolves a source or folder value as NuGet does: URLs stay, paths become absolute against the config file's directory.</summary>
    internal static string ResolvePath(string value, string configFile)
    {
        if (value.Length == 0)
        {
            return value;
        }

        if (Path.IsPathRooted(value))
        {
            return Path.GetFullPath(value);
        }

        if (Uri.TryCreate(value, UriKind.Absolute, out var uri))
        {
            return uri.IsFile ? Path.GetFullPath(uri.LocalPath) : value;
        }

        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(configFile) ?? "/", value));
    }

    private static ISettings Load(IList<string> paths, SettingsLoadingContext context)
    {
        // NuGet opens them as it finds them: a FIFO or a device a sandbox left in place of a
        // repository's NuGet.config would block or flood it. A link may be the user's own (a
        // dotfile), so it is followed, but what it leads to must be a regular file.
        foreach (var path in paths)
        {
            _ = Interop.SafeFile.Check(path, followLinks: true);
        }

        RequireReadable(paths);
        return Settings.LoadImmutableSettingsGivenConfigPaths(paths, context);
    }

    /// <summary>The config files NuGet reads, highest priority first (<c>Settings.LoadDefaultSettings</c>' order).</summary>
    private static List<(string Path, ConfigKind Kind)> FindConfigFiles(string root, NuGetLocations locations)
    {
        var files = new List<(string, ConfigKind)>();
        for (var directory = root; directory is not null; directory = Path.GetDirectoryName(directory))
        {
            // On a case-sensitive file system NuGet takes the first of nuget.config, NuGet.config,
            // NuGet.Config in each directory, and only that one.
            var found = Settings.OrderedSettingsFileNames.Select(name => Path.Combine(directory, name)).FirstOrDefault(File.Exists);
            if (found is not null)
            {
                files.Add((found, ConfigKind.Project));
            }
        }

        if (File.Exists(locations.UserConfigFile))
        {
            files.Add((locations.UserConfigFile, ConfigKind.User));
        }

        files.AddRange(ConfigsIn(locations.AdditionalUserConfigDirectory)
            .Where(f => Path.GetFileName(f) != "NuGet.Config")
            .Select(f => (f, ConfigKind.User)));
        files.AddRange(ConfigsIn(locations.MachineWideConfigDirectory).Select(f => (f, ConfigKind.MachineWide)));
        return files;
    }

    /// <summary>The <c>*.Config</c> and <c>*.config</c> files directly in <paramref name="directory"/>, in ordinal order.</summary>
    /// <remarks>NuGet sorts the additional user configs but takes the machine-wide ones in directory order; sorting both makes the result stable.</remarks>
    private static IEnumerable<string> ConfigsIn(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        return Directory.EnumerateFiles(directory)
            .Where(f => f.EndsWith(".Config", StringComparison.Ordinal) || f.EndsWith(".config", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
    }

    private static (string Folder, ConfigOrigin Origin) GlobalPackagesFolder(
        ISettings settings, IReadOnlyDictionary<string, string> environment, NuGetLocations locations, Func<SettingItem, string?, ConfigOrigin> origin)
    {
        if (NuGetLocations.Get(environment, "NUGET_PACKAGES") is { } variable)
        {
            return (RootedFolder("NUGET_PACKAGES", variable), new ConfigOrigin(ConfigOriginKind.Environment, null, "NUGET_PACKAGES"));
        }

        if (settings.GetSection(ConfigurationConstants.Config)?.GetFirstItemWithAttribute<AddItem>(ConfigurationConstants.KeyAttribute, ConfigurationConstants.GlobalPackagesFolder) is { } item
            && RawValue(item, environment) is { Length: > 0 } value)
        {
            var from = origin(item, ConfigurationConstants.GlobalPackagesFolder);
            return (TrimEnd(ResolvePath(value, from.File!)), from);
        }

        return (locations.DefaultGlobalPackagesFolder, ConfigOrigin.Default with { Name = "~/.nuget/packages" });
    }

    private static string HttpCacheFolder(IReadOnlyDictionary<string, string> environment, NuGetLocations locations) =>
        NuGetLocations.Get(environment, "NUGET_HTTP_CACHE_PATH") is { } variable
            ? RootedFolder("NUGET_HTTP_CACHE_PATH", variable)
            : locations.DefaultHttpCacheFolder;

    private static ImmutableArray<NuGetFolder> FallbackFolders(ISettings settings, IReadOnlyDictionary<string, string> environment, Func<SettingItem, string?, ConfigOrigin> origin)
    {
        if (NuGetLocations.Get(environment, "NUGET_FALLBACK_PACKAGES") is { } variable)
        {
            var fromVariable = new ConfigOrigin(ConfigOriginKind.Environment, null, "NUGET_FALLBACK_PACKAGES");
            return [.. variable.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(f => new NuGetFolder(RootedFolder("NUGET_FALLBACK_PACKAGES", f), fromVariable))];
        }

        var order = settings.GetConfigFilePaths();
        return
        [
            .. (settings.GetSection(ConfigurationConstants.FallbackPackageFolders)?.Items ?? [])
                .OrderBy(i => order.IndexOf(i.ConfigPath ?? string.Empty))
                .OfType<AddItem>()
                .Select(i =>
                {
                    var from = origin(i, ConfigurationConstants.FallbackPackageFolders);
                    return new NuGetFolder(TrimEnd(ResolvePath(RawValue(i, environment), from.File!)), from);
                }),
        ];
    }

    /// <summary>
    /// The enabled sources of one section, in NuGet's order: by config file, highest priority first;
    /// one source per name; then the sources of NuGetDefaults.config that are not there by name or URL,
    /// before the first machine-wide source.
    /// </summary>
    /// <remarks>
    /// Mirrors <c>PackageSourceProvider.LoadPackageSources</c>. Note that NuGet disables a source listed
    /// in <c>&lt;disabledPackageSources&gt;</c> whatever the entry's value (even <c>false</c>), matching
    /// names case-sensitively.
    /// </remarks>
    private static ImmutableArray<NuGetSource> Sources(
        ISettings settings,
        ISettings? defaults,
        string sectionName,
        IReadOnlyDictionary<string, string> environment,
        HashSet<string> machineWideFiles,
        Func<SettingItem, string?, ConfigOrigin> origin)
    {
        var order = settings.GetConfigFilePaths();
        var disabled = (settings.GetSection(ConfigurationConstants.DisabledPackageSources)?.Items.OfType<AddItem>() ?? [])
            .Select(i => i.Key)
            .ToHashSet(StringComparer.Ordinal);
        var credentials = (settings.GetSection(ConfigurationConstants.CredentialsSectionName)?.Items.OfType<CredentialsItem>() ?? [])
            .Where(c => !c.IsEmpty())
            .Select(c => c.ElementName)
            .ToHashSet(StringComparer.Ordinal);

        var loaded = new List<Candidate>();
        foreach (var item in (settings.GetSection(sectionName)?.Items.OfType<SourceItem>() ?? []).OrderBy(i => order.IndexOf(i.ConfigPath ?? string.Empty)))
        {
            var from = origin(item, null);
            var candidate = new Candidate(
                new NuGetSource(item.Key, ResolvePath(RawValue(item, environment), from.File!), from, false) { ProtocolVersion = ProtocolVersion(item) },
                Enabled: !disabled.Contains(item.Key),
                MachineWide: machineWideFiles.Contains(from.File!));
            var existing = loaded.FindIndex(c => string.Equals(c.Source.Name, item.Key, StringComparison.OrdinalIgnoreCase));
            if (existing < 0)
            {
                loaded.Add(candidate);
            }
            else if (loaded[existing].Source.ProtocolVersion < candidate.Source.ProtocolVersion && candidate.Source.ProtocolVersion <= 3)
            {
                // NuGet's rule: a later duplicate with a higher protocol version replaces the earlier one in place.
                loaded[existing] = candidate;
            }
        }

        if (defaults is not null)
        {
            var defaultDisabled = (defaults.GetSection(ConfigurationConstants.DisabledPackageSources)?.Items.OfType<AddItem>() ?? []).Select(i => i.Key).ToList();
            var added = new List<Candidate>();
            foreach (var item in defaults.GetSection(sectionName)?.Items.OfType<SourceItem>() ?? [])
            {
                var file = item.ConfigPath ?? string.Empty;
                var source = new NuGetSource(item.Key, ResolvePath(RawValue(item, environment), file), new ConfigOrigin(ConfigOriginKind.MachineConfig, file), false) { ProtocolVersion = ProtocolVersion(item) };
                if (!loaded.Any(c => string.Equals(c.Source.Url, source.Url, StringComparison.OrdinalIgnoreCase) || string.Equals(c.Source.Name, source.Name, StringComparison.OrdinalIgnoreCase)))
                {
                    added.Add(new Candidate(source, !defaultDisabled.Contains(item.Key, StringComparer.OrdinalIgnoreCase), MachineWide: false));
                }
            }

            var at = loaded.FindIndex(c => c.MachineWide);
            loaded.InsertRange(at < 0 ? loaded.Count : at, added);
        }

        var endpoints = ExternalFeedEndpoints(environment);
        return
        [
            .. loaded.Where(c => c.Enabled).Select(c => c.Source with
            {
                HasCredentials = credentials.Contains(c.Source.Name)
                    || HasCredentialVariable(environment, c.Source.Name)
                    || endpoints.Contains(c.Source.Url.TrimEnd('/'))
                    || (NuGetSource.TryGetHttpUri(c.Source.Url, out var uri) && uri.UserInfo.Length > 0),
            }),
        ];
    }

    private static int ProtocolVersion(SourceItem item) =>
        int.TryParse(item.ProtocolVersion, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : 2;

    /// <summary>The <c>value</c> attribute as written, with <c>%VARIABLE%</c> expanded from <paramref name="environment"/> (NuGet's <c>AddItem.Value</c> expands from the process).</summary>
    private static string RawValue(AddItem item, IReadOnlyDictionary<string, string> environment) =>
        item.GetAttributes().TryGetValue(ConfigurationConstants.ValueAttribute, out var value) ? Expand(value, environment) : string.Empty;

    /// <summary>NuGet's <c>NuGetPackageSourceCredentials_NAME</c> variable, in the form NuGet accepts.</summary>
    private static bool HasCredentialVariable(IReadOnlyDictionary<string, string> environment, string name) =>
        NuGetLocations.Get(environment, "NuGetPackageSourceCredentials_" + name) is { } value && CredentialVariable().IsMatch(value.Trim());

    /// <summary>
    /// The endpoints of <c>VSS_NUGET_EXTERNAL_FEED_ENDPOINTS</c>, the variable through which CI hands feed
    /// credentials to the Azure Artifacts credential provider.
    /// </summary>
    private static HashSet<string> ExternalFeedEndpoints(IReadOnlyDictionary<string, string> environment)
    {
        var endpoints = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (NuGetLocations.Get(environment, "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS") is not { } json)
        {
            return endpoints;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("endpointCredentials", out var list)
                && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var entry in list.EnumerateArray())
                {
                    if (entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("endpoint", out var endpoint) && endpoint.ValueKind == JsonValueKind.String)
                    {
                        endpoints.Add(endpoint.GetString()!.TrimEnd('/'));
                    }
                }
            }
        }
        catch (JsonException)
        {
            // The credential provider rejects it too; the sources then have no credentials from it.
        }

        return endpoints;
    }

    private static string RootedFolder(string variable, string value) =>
        Path.IsPathRooted(value)
            ? TrimEnd(Path.GetFullPath(value))
            : throw new SandboxException(Errors.Errors.NuGetVariableInvalid, variable, value);

    private static string TrimEnd(string path) => Path.TrimEndingDirectorySeparator(path);

    [GeneratedRegex(@"^Username=(?<user>.*?);\s*Password=(?<pass>.*?)(?:;ValidAuthenticationTypes=(?<authTypes>.*?))?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CredentialVariable();

    private enum ConfigKind
    {
        Project,
        User,
        MachineWide,
    }

    private sealed record Candidate(NuGetSource Source, bool Enabled, bool MachineWide);
}
