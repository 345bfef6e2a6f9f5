using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Inference;

/// <summary>
/// The inference cache: one strict JSON document per entry (<see cref="ProjectCacheDocument"/>) outside
/// every sandbox, valid while every input has the same contents and the environment key is the same.
/// </summary>
internal static class InferenceCache
{
    /// <summary>The version of <see cref="ProjectCacheDocument"/> this build writes and reads.</summary>
    private const int Version = 2;

    /// <summary>Where the model of <paramref name="entry"/> is cached: under XDG_CACHE_HOME (or ~/.cache), keyed on the entry's path.</summary>
    public static string FileFor(HostFacts host, string entry, IReadOnlyList<string>? properties = null)
    {
        var root = host.Variables.TryGetValue("XDG_CACHE_HOME", out var xdg) && xdg.StartsWith('/') ? xdg : host.HomeDirectory + "/.cache";

        // One file per entry and set of global properties (-c Release, -p:X=Y): alternating between
        // two configurations keeps both answers instead of evaluating again each time.
        var named = properties is { Count: > 0 } ? entry + "\0" + string.Join("\0", properties) : entry;
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(named)))[..16];
        return Path.Combine(root, "dotnet-sandbox", "projects", key + ".json");
    }

    private static string Fingerprint(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is { } target ? "link:" + target
            : info.Exists ? $"{info.Length}:{info.LastWriteTimeUtc.Ticks}"
            : Directory.Exists(path) ? "directory" : "missing";
    }

    /// <summary>
    /// The SHA-256 of an input, read with <see cref="SafeFile"/>: missing is a value, but a link,
    /// FIFO or device below the repository (or anything but a regular file anywhere) is SBX3018,
    /// never a hang. Files outside the visible tree (the user's NuGet configuration) may be links
    /// the user made; what they lead to must still be a regular file.
    /// </summary>
    private static string ContentHash(string path, string repoRoot)
    {
        try
        {
            return SafeFile.TryReadAllBytes(path, SafeFile.DefaultMaxBytes, followLinks: InferenceInputs.MayFollowLinks(path, repoRoot)) is { } bytes
                ? Convert.ToHexStringLower(SHA256.HashData(bytes))
                : "missing";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "unreadable";
        }
    }

    /// <summary>
    /// What besides files decides an evaluation: the variables the evaluation sandbox passes in
    /// (MSBuild reads every variable as a property), the packages folder and the installed SDKs.
    /// </summary>
    public static string EnvironmentKey(HostFacts host, NuGetSettingsSnapshot nuget)
    {
        var variables = string.Join('\n', host.Variables.Where(v => EnvironmentFilter.PassesByDefault(v.Key, v.Value)).OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => v.Key + "=" + v.Value));
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(variables)));
        return $"packages={nuget.GlobalPackagesFolder};sdk={string.Join(',', InstalledSdks())};variables={hash}";
    }

    private static IEnumerable<string> InstalledSdks()
    {
        var dotnet = Path.GetDirectoryName(new FileInfo(System.Environment.ProcessPath ?? "/usr/bin/dotnet").FullName);
        foreach (var candidate in new[] { System.Environment.GetEnvironmentVariable("DOTNET_ROOT"), "/usr/share/dotnet", "/usr/lib/dotnet", dotnet })
        {
            if (candidate is { Length: > 0 } && Directory.Exists(Path.Combine(candidate, "sdk")))
            {
                return Directory.EnumerateDirectories(Path.Combine(candidate, "sdk")).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);
            }
        }

        return [];
    }

    /// <summary>
    /// The cached model, or <see langword="null"/> when there is none, it is damaged, or anything it was
    /// computed from changed (an input's contents, the environment key, the entry or the visible root).
    /// </summary>
    public static ProjectModel? Read(string file, string entry, string repoRoot, NuGetSettingsSnapshot nuget, string environment, List<string> current)
    {
        try
        {
            // Outside every sandbox (the home is private inside), but read as carefully as the rest:
            // anything but a plain file is a miss, and the write replaces it.
            byte[]? bytes;
            try
            {
                bytes = SafeFile.TryReadAllBytes(file, SafeFile.LargeMaxBytes);
            }
            catch (SandboxException)
            {
                return null;
            }

            if (bytes is null)
            {
                return null;
            }

            var cached = (JsonSerializer.Deserialize(bytes, InferenceJson.Default.ProjectCacheDocument) ?? throw new JsonException("the cache is null")).Checked();
            if (cached.Version != Version
                || cached.Entry != entry
                || cached.RepositoryRoot != repoRoot
                || cached.Environment != environment
                || cached.Inputs.Count != current.Count)
            {
                return null;
            }

            for (var i = 0; i < current.Count; i++)
            {
                var input = cached.Inputs[i];
                if (input.Path != current[i])
                {
                    return null;
                }

                // Same size and time: unchanged. Otherwise compare contents: a touched file is still a hit.
                if (input.Stamp != Fingerprint(current[i]) && input.Sha256 != ContentHash(current[i], repoRoot))
                {
                    return null;
                }
            }

            var projects = cached.Projects.Select(p => p.ToEvaluation()).ToImmutableArray();
            var feeds = cached.Feeds.ToImmutableDictionary(f => f.Key, f => f.Value.ToImmutableArray(), StringComparer.Ordinal);
            return new ProjectModel(entry, repoRoot, projects, nuget, feeds, FromCache: true, TimeSpan.Zero);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            // ArgumentException: a property twice in an object (JSON allows it, a dictionary does not).
            return null;
        }
    }

    /// <summary>Replaces the cached model atomically; a cache that cannot be written is not an error.</summary>
    public static void Write(string file, ProjectModel model, string environment, List<string> inputs)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            var document = new ProjectCacheDocument(
                Version,
                model.Entry,
                model.RepositoryRoot,
                environment,
                [.. inputs.Select(i => new CachedInput(i, Fingerprint(i), ContentHash(i, model.RepositoryRoot)))],
                [.. model.Projects.Select(CachedProject.From)],
                model.FeedHosts.ToDictionary(f => f.Key, f => (IReadOnlyList<string>)f.Value, StringComparer.Ordinal));

            // A temporary file of this process's own (pid and a random part, created new), renamed
            // over the cache: concurrent runs never write into one another's, readers see whole files.
            UserFileLock.WriteAtomically(file, JsonSerializer.SerializeToUtf8Bytes(document, InferenceJson.Default.ProjectCacheDocument));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A cache that cannot be written only costs time.
        }
    }
}
