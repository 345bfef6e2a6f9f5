using System.Collections.Immutable;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;
using SandboxedBuild.Interop;

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
    private const int CacheVersion = 1;

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
    public static ProjectModel Infer(HostFacts host, string entry, string bwrap, bool useCache, Func<NuGetSource, bool> approvedFeed, ICollection<Diagnostic>? warnings = null, RunControl? control = null)
    {
        warnings ??= [];
        var start = Stopwatch.GetTimestamp();
        var repoRoot = VisibleRoot(entry, host.HomeDirectory);
        var nuget = NuGetSettingsReader.Read(Path.GetDirectoryName(entry)!, host.Variables);
        var cacheFile = CacheFile(host, entry);
        var environment = EnvironmentKey(host, nuget);

        // One walk of the tree per run: the cache check, the cache write and the restore check share it.
        var inputs = Inputs(entry, repoRoot, nuget);

        // Before anything reads them (the cache check here, MSBuild in the evaluation sandbox): what
        // is below the repository must be a regular file, not a link, FIFO or device a run planted.
        foreach (var input in inputs)
        {
            _ = SafeFile.Check(input, followLinks: MayFollowLinks(input, repoRoot));
        }

        if (useCache && ReadCache(cacheFile, entry, repoRoot, nuget, environment, inputs) is { } cached)
        {
            // A source approved since the cache was written: read its service index now.
            var missing = FeedsToResolve(nuget, approvedFeed).Where(s => !cached.FeedHosts.ContainsKey(s.Url)).ToList();
            if (missing.Count > 0)
            {
                cached = cached with { FeedHosts = cached.FeedHosts.SetItems(ResolveFeeds(missing, warnings)) };
                WriteCache(cacheFile, cached, environment, inputs);
            }

            return cached with { NuGet = nuget, Inputs = [.. inputs], Elapsed = Stopwatch.GetElapsedTime(start) };
        }

        var projects = EvaluateClosure(host, entry, repoRoot, bwrap, control);
        var feeds = ResolveFeeds(FeedsToResolve(nuget, approvedFeed), warnings);
        var model = new ProjectModel(entry, repoRoot, projects, nuget, feeds, FromCache: false, TimeSpan.Zero) { Inputs = [.. inputs] };
        if (useCache)
        {
            WriteCache(cacheFile, model, environment, inputs);
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

    private static ImmutableArray<ProjectEvaluation> EvaluateClosure(HostFacts host, string entry, string repoRoot, string bwrap, RunControl? control)
    {
        var pending = ProjectFiles.IsSolution(entry) ? ProjectFiles.ProjectsOfSolution(entry).ToList() : [entry];
        var done = new Dictionary<string, ProjectEvaluation>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            foreach (var evaluation in EvaluateInSandbox(host, pending, repoRoot, bwrap, control))
            {
                done[evaluation.ProjectPath] = evaluation;
            }

            // Referenced projects build too; evaluate those the solution did not list. Only inside the visible tree.
            pending = [.. done.Values.SelectMany(p => p.ProjectReferences)
                .Where(r => !done.ContainsKey(r) && File.Exists(r) && PathUtil.IsSameOrUnder(r, repoRoot))
                .Distinct(StringComparer.Ordinal)];
        }

        return [.. done.Values.OrderBy(p => p.ProjectPath, StringComparer.Ordinal)];
    }

    private static List<ProjectEvaluation> EvaluateInSandbox(HostFacts host, List<string> projects, string repoRoot, string bwrap, RunControl? control)
    {
        // A directory of this run's own (0700), holding one file per answer that the tool creates
        // before the run. Each file is bound into the sandbox by itself, so that the evaluation (which
        // runs the repository's code) can write into it but cannot remove, rename or replace it: the
        // directory itself is not visible inside, and a mount point cannot be unlinked.
        if (OperatingSystem.IsWindows())
        {
            throw new SandboxException(Errors.Errors.PlatformNotSupported, "Windows");
        }

        // With an owner lock, so that a later run removes it should this one be killed (Leftovers).
        var owned = OwnedDirectory.Create(Path.GetTempPath(), "dotnet-sandbox-eval-");
        var results = owned.Path;
        try
        {
            var rules = new List<PathRule> { new(repoRoot, PathAccess.ReadOnly, "the repository, read-only: MSBuild evaluates its projects") };
            for (var i = 0; i < projects.Count; i++)
            {
                foreach (var kind in ResultKinds)
                {
                    var file = ResultFile(results, i, kind);
                    using (new FileStream(file, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
                    {
                    }

                    rules.Add(new PathRule(file, PathAccess.ReadWrite, "an evaluation answer: a file this run created, writable but not replaceable"));
                }
            }

            // One sandbox, the evaluations in parallel inside it; each writes JSON, a log and its status to its files.
            var script = MsBuildEvaluation.ShellScript();
            var work = new WorkArea(rules, Environment: [new EnvironmentEntry("R", results, "where the evaluations write their answers")]);
            var evalHost = host with { WorkingDirectory = repoRoot };
            var policy = ExecPolicyBuilder.Build(evalHost, new ExecOptions { NetworkMode = NetworkMode.None }, new List<Diagnostic>(), work);
            var launch = new SandboxLauncher(host.FileSystem).Run(bwrap, policy, ["/bin/sh", "-c", script, "sh", .. projects], silent: true, control: control);
            var list = new List<ProjectEvaluation>();
            for (var i = 0; i < projects.Count; i++)
            {
                // Read back as what they are: the sandbox's words, in files it could write.
                var recorded = SafeFile.ReadAllText(ResultFile(results, i, "rc"), 64).Trim();
                var rc = recorded.Length == 0
                    ? launch.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : int.TryParse(recorded, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var code) ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";
                var json = SafeFile.ReadAllText(ResultFile(results, i, "json"), SafeFile.DefaultMaxBytes);
                if (rc != "0" || json.Length == 0)
                {
                    throw new SandboxException(Errors.Errors.ProjectEvaluationFailed, TerminalText.Escape(projects[i], 4096), rc, MsBuildEvaluation.ErrorExcerpt(SafeFile.ReadAllText(ResultFile(results, i, "out"), SafeFile.DefaultMaxBytes)));
                }

                try
                {
                    list.Add(MsBuildEvaluation.Parse(projects[i], json));
                }
                catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    throw new SandboxException(Errors.Errors.ProjectEvaluationFailed, TerminalText.Escape(projects[i], 4096), rc, TerminalText.Escape("unexpected answer: " + ex.Message, MsBuildEvaluation.ExcerptLength));
                }
            }

            return list;
        }
        finally
        {
            owned.Dispose();
        }
    }

    private static readonly string[] ResultKinds = ["json", "out", "rc"];

    private static string ResultFile(string results, int index, string kind) =>
        Path.Combine(results, index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "." + kind);

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

    // ---- cache -------------------------------------------------------------------------------

    private static string CacheFile(HostFacts host, string entry)
    {
        var root = host.Variables.TryGetValue("XDG_CACHE_HOME", out var xdg) && xdg.StartsWith('/') ? xdg : host.HomeDirectory + "/.cache";
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(entry)))[..16];
        return Path.Combine(root, "dotnet-sandbox", "projects", key + ".json");
    }

    /// <summary>
    /// The files whose contents decide the evaluation: project, solution, props and targets files,
    /// global.json and NuGet configuration in the visible tree (outputs and .git skipped), the NuGet
    /// configuration chain, and the installed SDKs.
    /// </summary>
    internal static List<string> Inputs(string entry, string repoRoot, NuGetSettingsSnapshot nuget)
    {
        var inputs = new SortedSet<string>(StringComparer.Ordinal) { entry };
        var stack = new Stack<string>();
        stack.Push(repoRoot);
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            foreach (var info in Entries(dir))
            {
                var name = info.Name;
                var isLink = info.LinkTarget is not null;
                if (info is DirectoryInfo && !isLink)
                {
                    if (!SkippedDirectories.Contains(name))
                    {
                        stack.Push(info.FullName);
                    }
                    else if (name is "obj" or "artifacts")
                    {
                        // What a restore generates is imported by the next evaluation: packages can
                        // bring properties and items (SandboxAllowedHost among them).
                        GeneratedInputs(info.FullName, 3, inputs);
                    }
                }
                else if (info is not DirectoryInfo && IsInputFile(name))
                {
                    // A link among them is kept, and refused when it is hashed (SBX3018): nothing below the
                    // repository that the tool reads may lead elsewhere.
                    inputs.Add(info.FullName);
                }
            }
        }

        inputs.UnionWith(nuget.ConfigFiles.Where(File.Exists));
        return [.. inputs];
    }

    // The entries of a directory, without following links; an unreadable directory has none.
    private static IEnumerable<FileSystemInfo> Entries(string dir)
    {
        try
        {
            return [.. new DirectoryInfo(dir).EnumerateFileSystemInfos()];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    // obj/*.nuget.g.* a few levels down, whatever they are (a link or a FIFO is refused when hashed); linked directories are not entered.
    private static void GeneratedInputs(string dir, int depth, SortedSet<string> inputs)
    {
        foreach (var info in Entries(dir))
        {
            if (info is DirectoryInfo && info.LinkTarget is null)
            {
                if (depth > 0)
                {
                    GeneratedInputs(info.FullName, depth - 1, inputs);
                }
            }
            else if (info.Name.Contains(".nuget.g.", StringComparison.Ordinal))
            {
                inputs.Add(info.FullName);
            }
        }
    }

    private static readonly HashSet<string> SkippedDirectories = new(StringComparer.Ordinal) { ".git", "bin", "obj", "artifacts", "node_modules", "TestResults", ".vs", ".idea", ".vscode" };

    private static bool IsInputFile(string name)
    {
        var ext = Path.GetExtension(name).ToLowerInvariant();
        return ext is ".props" or ".targets" or ".csproj" or ".fsproj" or ".vbproj" or ".proj" or ".sln" or ".slnx" or ".slnf" or ".rsp"
            || name.Equals("global.json", StringComparison.OrdinalIgnoreCase)
            || name.Equals("nuget.config", StringComparison.OrdinalIgnoreCase);
    }

    private static string Fingerprint(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is { } target ? "link:" + target
            : info.Exists ? $"{info.Length}:{info.LastWriteTimeUtc.Ticks}"
            : Directory.Exists(path) ? "directory" : "missing";
    }

    /// <summary>
    /// Whether an input's link may be followed when it is checked and hashed. Outside the repository
    /// (the user's NuGet configuration, a dotfile) always. Below it, only a link whose real location is
    /// inside the repository: a props file shared by a committed link reaches only what the evaluation
    /// sees anyway, while a link leading out of the repository is what a plant looks like.
    /// </summary>
    private static bool MayFollowLinks(string path, string repoRoot)
    {
        if (!PathUtil.IsSameOrUnder(path, repoRoot))
        {
            return true;
        }

        var fs = new HostFileSystem();
        if (fs.LinkTarget(path) is null)
        {
            return false;
        }

        var real = HostPath.Resolve(fs, path, "/nonexistent");
        return !real.Loops && PathUtil.IsSameOrUnder(real.Real, HostPath.Resolve(fs, repoRoot, "/nonexistent").Real);
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
            return SafeFile.TryReadAllBytes(path, SafeFile.DefaultMaxBytes, followLinks: MayFollowLinks(path, repoRoot)) is { } bytes
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
    private static string EnvironmentKey(HostFacts host, NuGetSettingsSnapshot nuget)
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

    internal static ProjectModel? ReadCache(string file, string entry, string repoRoot, NuGetSettingsSnapshot nuget, string environment, List<string> current)
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
            if (cached.Version != CacheVersion
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

    private static void WriteCache(string file, ProjectModel model, string environment, List<string> inputs)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            var document = new ProjectCacheDocument(
                CacheVersion,
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
