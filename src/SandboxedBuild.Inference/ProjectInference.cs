using System.Collections.Immutable;
using System.Diagnostics;
using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Inference;

/// <summary>
/// Infers the project model: evaluates every project with MSBuild and reads the NuGet configuration.
/// </summary>
/// <remarks>
/// Evaluation runs project code (property functions read files, SDK resolvers run and fetch), so it runs inside
/// the sandbox too: the repository read-only, no network, only a private results directory
/// writable. Its answers are still the project's word, not the user's: the step builder validates
/// every path before it makes one writable. Results are cached outside the sandbox, keyed on the
/// contents of every project, import and configuration file that could change them.
/// </remarks>
public static class ProjectInference
{
    /// <summary>Infers the model for <paramref name="entry"/>.</summary>
    /// <param name="host">Facts about the caller.</param>
    /// <param name="entry">The project or solution file.</param>
    /// <param name="bwrap">The bubblewrap executable that evaluations run under.</param>
    /// <param name="useCache">Read and write the cache.</param>
    /// <param name="approvedFeed">
    /// Whether the user approved a source of a project's NuGet.config (<see cref="ConfigOrigin.IsTrusted"/> is false), so that its
    /// service index may be read. Sources of the user's own configuration are read without asking; no other URL is ever contacted
    /// (the request leaves from outside the sandbox).
    /// </param>
    /// <param name="warnings">Receives coded warnings (a service index that could not be read).</param>
    /// <param name="control">What stops the evaluation sandbox from outside (see <see cref="RunControl"/>).</param>
    /// <param name="properties">The global properties the steps build with (<c>Name=Value</c>): every evaluation gets them, and the cache keeps one answer per set.</param>
    public static ProjectModel Infer(HostFacts host, string entry, string bwrap, bool useCache, Func<NuGetSource, bool> approvedFeed, ICollection<Diagnostic>? warnings = null, RunControl? control = null, IReadOnlyList<string>? properties = null)
    {
        warnings ??= [];
        properties ??= [];
        var start = Stopwatch.GetTimestamp();
        var repoRoot = VisibleRoot(entry, host.HomeDirectory);
        var nuget = NuGetSettingsReader.Read(Path.GetDirectoryName(entry)!, host.Variables);
        var cacheFile = InferenceCache.FileFor(host, entry, properties);
        var environment = InferenceCache.EnvironmentKey(host, nuget);

        // One walk of the tree per run: the cache check, the cache write and the restore check share it.
        var inputs = InferenceInputs.Collect(entry, repoRoot, nuget);

        // Before anything reads them (the cache check here, MSBuild in the evaluation sandbox): what
        // is below the repository must be a regular file, not a link, FIFO or device a run planted.
        foreach (var input in inputs)
        {
            _ = SafeFile.Check(input, followLinks: InferenceInputs.MayFollowLinks(input, repoRoot));
        }

        if (useCache && InferenceCache.Read(cacheFile, entry, repoRoot, nuget, environment, inputs) is { } cached)
        {
            // A source approved since the cache was written: read its service index now.
            var missing = FeedsToResolve(nuget, approvedFeed).Where(s => !cached.FeedHosts.ContainsKey(s.Url)).ToList();
            if (missing.Count > 0)
            {
                cached = cached with { FeedHosts = cached.FeedHosts.SetItems(ResolveFeeds(missing, warnings)) };
                InferenceCache.Write(cacheFile, cached, environment, inputs);
            }

            return cached with { NuGet = nuget, Inputs = [.. inputs], Elapsed = Stopwatch.GetElapsedTime(start) };
        }

        var projects = EvaluationSandbox.EvaluateClosure(host, entry, repoRoot, bwrap, control, properties);
        var feeds = ResolveFeeds(FeedsToResolve(nuget, approvedFeed), warnings);
        var model = new ProjectModel(entry, repoRoot, projects, nuget, feeds, FromCache: false, TimeSpan.Zero) { Inputs = [.. inputs] };
        if (useCache)
        {
            InferenceCache.Write(cacheFile, model, environment, inputs);
        }

        return model with { Elapsed = Stopwatch.GetElapsedTime(start) };
    }

    /// <summary>
    /// The tree the steps see read-only: the enclosing repository, unless that would show a home
    /// directory or more (a dotfiles repository), in which case the entry's own directory.
    /// </summary>
    public static string VisibleRoot(string entry, string home)
    {
        var root = ProjectFiles.RepositoryRoot(entry);
        if (BroadPaths.DescribeTooBroad(root, home) is null)
        {
            return root;
        }

        var dir = Path.GetDirectoryName(entry)!;
        return BroadPaths.DescribeTooBroad(dir, home) is { } what
            ? throw new SandboxException(Errors.Errors.WorkingDirectoryTooBroad, dir, what)
            : dir;
    }

    /// <summary>
    /// The sources whose service index is read: HTTP ones of the user's own configuration, or approved
    /// (the request leaves from outside the sandbox, so a URL a project's NuGet.config invented must not
    /// be fetched), except nuget.org, which the default preset covers.
    /// </summary>
    internal static List<NuGetSource> FeedsToResolve(NuGetSettingsSnapshot nuget, Func<NuGetSource, bool> approved) =>
        [.. nuget.Sources.Concat(nuget.AuditSources)
            .Where(s => s.IsHttp && (s.Origin.IsTrusted || approved(s)) && !string.Equals(s.Host, "api.nuget.org", StringComparison.OrdinalIgnoreCase))
            .DistinctBy(s => s.Url)];

    private static ImmutableDictionary<string, ImmutableArray<string>> ResolveFeeds(List<NuGetSource> sources, ICollection<Diagnostic> warnings)
    {
        var tasks = sources.Select(s => ServiceIndexResolver.ResolveAsync(s, TimeSpan.FromSeconds(10), CancellationToken.None)).ToList();
        var builder = ImmutableDictionary.CreateBuilder<string, ImmutableArray<string>>(StringComparer.Ordinal);
        foreach (var task in tasks)
        {
            var result = task.GetAwaiter().GetResult();
            if (result.Error is { } error)
            {
                // Said, and not cached: the next run asks again.
                warnings.Add(error);
                continue;
            }

            builder[result.SourceUrl] = [.. result.Hosts.Select(h => h.Host + ":" + h.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        }

        return builder.ToImmutable();
    }
}
