using System.Collections.Immutable;
using System.Globalization;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Inference;

/// <summary>A step of the .NET workflow, each with its own policy.</summary>
public enum WorkflowStep
{
    /// <summary><c>dotnet restore</c>: the package feeds, the packages folder, obj/.</summary>
    Restore,

    /// <summary><c>dotnet build --no-restore</c>: no network; obj/ and bin/.</summary>
    Build,

    /// <summary><c>dotnet test --no-build</c>: no network unless approved; bin/ and TestResults/.</summary>
    Test,

    /// <summary><c>dotnet run --no-build</c>: the app, with the test step's policy.</summary>
    Run,
}

/// <summary>A step's policy, with the project widenings it applied and those waiting for approval.</summary>
/// <param name="Policy">The policy.</param>
/// <param name="Applied">Approved widenings in effect.</param>
/// <param name="Pending">Widenings the project asks for that the user has not approved; not in effect.</param>
public sealed record StepPlan(SandboxPolicy Policy, IReadOnlyList<ProjectWidening> Applied, IReadOnlyList<ProjectWidening> Pending)
{
    /// <summary>The packages folders the step may add to (restore only): what it leaves there is checked after it (<see cref="PackagesFolder.RemoveAddedLinks"/>).</summary>
    public IReadOnlyList<string> WritablePackageFolders { get; init; } = [];

    /// <summary>The directories the restore may write only to replace a lock file (restore only): what it adds there is said after it (<see cref="LockFiles.Added"/>).</summary>
    public IReadOnlyList<LockFileDirectory> LockFileDirectories { get; init; } = [];
}

/// <summary>
/// Builds each step's policy from the project model: the repository read-only, and only the
/// directories and hosts that step needs, each with the property or file that named it.
/// </summary>
public static class StepPolicyBuilder
{
    /// <summary>Builds the plan for <paramref name="step"/>.</summary>
    /// <param name="host">Facts about the caller (its working directory is where the step starts).</param>
    /// <param name="model">The inferred project model.</param>
    /// <param name="step">The step.</param>
    /// <param name="options">Widenings from the command line (trusted: the user typed them).</param>
    /// <param name="trust">The user's approvals.</param>
    /// <param name="warnings">Receives coded warnings.</param>
    /// <param name="sanitizedUserConfig">For restore: a credential-free copy of the user's NuGet.Config to show in its place, if one was made.</param>
    public static StepPlan Build(HostFacts host, ProjectModel model, WorkflowStep step, ExecOptions options, TrustStore trust, ICollection<Diagnostic> warnings, string? sanitizedUserConfig = null)
    {
        var root = model.RepositoryRoot;
        var rules = new List<PathRule> { new(root, PathAccess.ReadOnly, "the repository: sources and project files, read-only") };
        var unprotected = new HashSet<string>(StringComparer.Ordinal);
        var packageWrites = new List<string>();
        var hosts = new List<HostRule>();
        var env = new List<EnvironmentEntry>();
        var applied = new List<ProjectWidening>();
        var pending = new List<ProjectWidening>();

        bool Approved(ProjectWidening w)
        {
            if (trust.IsApproved(model.Entry, w))
            {
                applied.Add(w);
                return true;
            }

            pending.Add(w);
            return false;
        }

        void Writable(string path, string reason, string what, string project)
        {
            if (Resolve(path) is not { } real)
            {
                return;
            }

            if ((RefusedWrite(path, root, host.HomeDirectory) ?? RefusedWrite(real, root, host.HomeDirectory) ?? NotOutputLike(real, root, model)) is { } refused)
            {
                warnings.Add(Errors.Errors.InferredPathRefused.With(what, path, project, refused));
                return;
            }

            if ((PathUtil.IsSameOrUnder(path, root) && PathUtil.IsSameOrUnder(real, root)) || Approved(new ProjectWidening(WideningKind.Write, path, $"{what} of {project}", [step])))
            {
                rules.Add(new PathRule(path, PathAccess.ReadWrite, $"{reason}: {what} of {project}", CreateIfMissing: true, Origin: new Origin(OriginKind.ProjectProperty, IsPropertyName(what) ? what : null, project)));
            }
        }

        // Where a path the project or a configuration names really leads, or null (and a warning) when
        // a link that a sandbox could have planted is on the way: bubblewrap would bind its target.
        string? Resolve(string path, string? what = null, string? origin = null)
        {
            var resolved = HostPath.Resolve(host.FileSystem, path, host.HomeDirectory);
            if (!resolved.IsUntrusted)
            {
                return resolved.Real;
            }

            warnings.Add(Errors.Errors.InferredPathThroughLink.With(what ?? "the path", path, origin ?? "the project", resolved.Link, resolved.Target, resolved.Real));
            return null;
        }

        // A folder to read that a project file names: inside the repository or a system directory it is
        // visible anyway (a link there resolves inside the sandbox, against what the sandbox sees).
        void Readable(string path, string reason, string origin, Origin from)
        {
            if (PathUtil.IsSameOrUnder(path, root) || ExecPolicyBuilder.SystemDirectories.Any(d => PathUtil.IsSameOrUnder(path, d)) || !host.FileSystem.DirectoryExists(path))
            {
                return;
            }

            if (Resolve(path, reason, origin) is not { } real)
            {
                return;
            }

            if (real != path && (PathUtil.IsSameOrUnder(real, root) || ExecPolicyBuilder.SystemDirectories.Any(d => PathUtil.IsSameOrUnder(real, d))))
            {
                return;
            }

            if (real == "/" || (BroadPaths.DescribeSensitiveRead(real, host.HomeDirectory) ?? BroadPaths.DescribeOtherUsersHome(real, host.HomeDirectory)) is not null)
            {
                warnings.Add(Errors.Errors.InferredPathRefused.With(reason, path, origin, real == "/" ? "the root directory" : BroadPaths.DescribeSensitiveRead(real, host.HomeDirectory) ?? BroadPaths.DescribeOtherUsersHome(real, host.HomeDirectory)!));
                return;
            }

            if (path == "/" || BroadPaths.DescribeSensitiveRead(path, host.HomeDirectory) is not null)
            {
                warnings.Add(Errors.Errors.InferredPathRefused.With(reason, path, origin, path == "/" ? "the root directory" : BroadPaths.DescribeSensitiveRead(path, host.HomeDirectory)!));
                return;
            }

            if (Approved(new ProjectWidening(WideningKind.Read, path, $"{reason} of {origin}", [step])))
            {
                rules.Add(new PathRule(path, PathAccess.ReadOnly, $"{reason}, read-only: {origin}, approved", Origin: from));
            }
        }

        string Rel(string path) => PathUtil.IsSameOrUnder(path, root) ? Path.GetRelativePath(root, path) : path;

        // Where builds look for packages: the folder of the effective NuGet configuration, and any a project sets for itself.
        var packageFolders = new List<(string Path, string Reason, bool Trusted, Origin From)>
        {
            (model.NuGet.GlobalPackagesFolder, model.NuGet.GlobalPackagesFolderReason, model.NuGet.GlobalPackagesFolderOrigin.IsTrusted, new Origin(OriginKind.NuGetConfig)),
        };
        foreach (var p in model.Projects.Where(p => p.RestorePackagesPath is not null && p.RestorePackagesPath != model.NuGet.GlobalPackagesFolder))
        {
            packageFolders.Add((p.RestorePackagesPath!, "RestorePackagesPath of " + Rel(p.ProjectPath), false, new Origin(OriginKind.ProjectProperty, "RestorePackagesPath", p.ProjectPath)));
        }

        foreach (var (folder, reason, trusted, from) in packageFolders.DistinctBy(f => f.Path))
        {
            if (step == WorkflowStep.Restore)
            {
                if (Resolve(folder, "the packages folder", reason) is not { } real)
                {
                    continue;
                }

                if ((RefusedWrite(folder, root, host.HomeDirectory) ?? RefusedWrite(real, root, host.HomeDirectory) ?? NotOutputLike(real, root, model)) is { } refused)
                {
                    warnings.Add(Errors.Errors.InferredPathRefused.With("the packages folder", folder, reason, refused));
                }
                else if (trusted || (PathUtil.IsSameOrUnder(folder, root) && PathUtil.IsSameOrUnder(real, root)) || Approved(new ProjectWidening(WideningKind.Write, folder, reason, [WorkflowStep.Restore])))
                {
                    rules.Add(new PathRule(folder, PathAccess.ReadWrite, "NuGet packages folder: the restore adds packages here (" + reason + ")", CreateIfMissing: true, Origin: from));
                    unprotected.Add(folder);
                    packageWrites.Add(folder);
                    var refusedEntries = new List<(string Path, string Why)>();
                    rules.AddRange(PackagesFolder.ExistingPackages(folder, refusedEntries).Select(v => new PathRule(v, PathAccess.ReadOnly, "already in the packages folder: a restore may add packages beside it, not change it")));
                    foreach (var (entry, why) in refusedEntries)
                    {
                        warnings.Add(Errors.Errors.PackageEntryRefused.With(entry, why));
                    }
                }
            }
            else if (trusted && host.FileSystem.DirectoryExists(folder))
            {
                if (Resolve(folder, "the packages folder", reason) is null)
                {
                    continue;
                }

                rules.Add(new PathRule(folder, PathAccess.ReadOnly, "NuGet packages folder, read-only: builds reference restored packages (" + reason + ")", Origin: from));
            }
            else if (!trusted)
            {
                Readable(folder, "the packages folder", reason, from);
            }
        }

        env.Add(new EnvironmentEntry("NUGET_PACKAGES", SandboxEnvironment.NuGetPackagesValue(model.NuGet.GlobalPackagesFolder, host), "the packages folder of the effective NuGet configuration (" + model.NuGet.GlobalPackagesFolderReason + ")", Origin: new Origin(OriginKind.NuGetConfig)));

        // Fallback folders of your own NuGet configuration (user or machine files, NUGET_FALLBACK_PACKAGES)
        // are trusted like its packages folder. Those a NuGet.config of the project names (in the
        // repository or any directory above it) need approval, as do those a project names itself
        // (RestoreFallbackFolders).
        var projectFallbacks = model.Projects.SelectMany(p => p.FallbackFolders).ToHashSet(StringComparer.Ordinal);
        foreach (var fallback in model.NuGet.FallbackFolders.Where(f => f.Origin.IsTrusted && !projectFallbacks.Contains(f.Path)).Select(f => f.Path))
        {
            if (host.FileSystem.DirectoryExists(fallback) && BroadPaths.DescribeSensitiveRead(fallback, host.HomeDirectory) is null && fallback != "/"
                && !HostPath.Resolve(host.FileSystem, fallback, host.HomeDirectory).IsUntrusted)
            {
                rules.Add(new PathRule(fallback, PathAccess.ReadOnly, "NuGet fallback packages folder of your NuGet configuration, read-only"));
            }
            else
            {
                Readable(fallback, "the NuGet fallback packages folder", "your NuGet configuration", new Origin(OriginKind.NuGetConfig));
            }
        }

        foreach (var (fallback, origin, from) in projectFallbacks.Select(f => (f, "RestoreFallbackFolders", new Origin(OriginKind.ProjectProperty, "RestoreFallbackFolders")))
            .Concat(model.NuGet.FallbackFolders.Where(f => !f.Origin.IsTrusted).Select(f => (f.Path, f.Origin.ToString(), new Origin(OriginKind.NuGetConfig, File: f.Origin.File))))
            .DistinctBy(f => f.Item1, StringComparer.Ordinal))
        {
            Readable(fallback, "the NuGet fallback packages folder", origin, from);
        }

        // A NuGet.config above the repository is not the user's own file, whoever wrote it (a sandboxed
        // command may have): say so, since what it sets now waits for approval.
        foreach (var file in model.NuGet.ProjectConfigFiles.Where(f => !PathUtil.IsSameOrUnder(f, root)))
        {
            warnings.Add(Errors.Errors.NuGetConfigAboveRepository.With(file, root));
        }

        foreach (var project in model.Projects)
        {
            var name = Rel(project.ProjectPath);
            switch (step)
            {
                case WorkflowStep.Restore:
                    foreach (var dir in project.IntermediateDirectories)
                    {
                        Writable(dir.Path, "restore writes project.assets.json and the NuGet props here", dir.Property, name);
                    }

                    break;
                case WorkflowStep.Build:
                    foreach (var dir in project.IntermediateDirectories)
                    {
                        Writable(dir.Path, "intermediate build output", dir.Property, name);
                    }

                    foreach (var dir in project.OutputDirectories)
                    {
                        Writable(dir.Path, "build output", dir.Property, name);
                    }

                    break;
                case WorkflowStep.Test or WorkflowStep.Run:
                    foreach (var dir in project.OutputDirectories)
                    {
                        Writable(dir.Path, step == WorkflowStep.Test ? "tests write next to the assemblies they run" : "the app runs from its output", dir.Property, name);
                    }

                    if (step == WorkflowStep.Test && project.IsTestProject)
                    {
                        var results = project.TestResultsDirectory ?? Path.Combine(Path.GetDirectoryName(project.ProjectPath)!, "TestResults");
                        Writable(results, "test results", project.TestResultsDirectory is null ? "TestResults/ (the default results directory)" : "VSTestResultsDirectory", name);
                    }

                    break;
            }
        }

        // A project with a lock file: NuGet writes packages.lock.json through a temporary file beside
        // it, so its directory is writable for the restore, with every other entry held read-only.
        var lockDirectories = new List<LockFileDirectory>();
        if (step == WorkflowStep.Restore)
        {
            foreach (var project in model.Projects)
            {
                if (LockFiles.Of(project) is not { } lockFile)
                {
                    continue;
                }

                var directory = Path.GetDirectoryName(lockFile)!;
                var name = Rel(project.ProjectPath);
                if (lockDirectories.Any(d => d.Directory == directory))
                {
                    continue;
                }

                if (Resolve(directory, "the lock file's directory", name) is not { } real)
                {
                    continue;
                }

                if (!PathUtil.IsSameOrUnder(directory, root) || !PathUtil.IsSameOrUnder(real, root) || !host.FileSystem.DirectoryExists(directory))
                {
                    warnings.Add(Errors.Errors.InferredPathRefused.With("the lock file", lockFile, name, "not in a directory of the repository"));
                    continue;
                }

                // NuGetLockFilePath is a project property, which a sandbox may have edited: it must name a
                // lock file, not .git/config or .vscode/tasks.json, whose directory would become writable.
                if (!Path.GetFileName(lockFile).EndsWith(".lock.json", StringComparison.OrdinalIgnoreCase)
                    || Path.GetRelativePath(root, directory).Split('/').Any(c => c.StartsWith('.') && c != "."))
                {
                    warnings.Add(Errors.Errors.InferredPathRefused.With("the lock file", lockFile, name, "not a '*.lock.json' file in a directory whose name does not start with '.'"));
                    continue;
                }

                var writable = rules.Where(r => r.Access == PathAccess.ReadWrite).Select(r => r.Path).ToHashSet(StringComparer.Ordinal);
                if (LockFiles.EntriesToHold(directory, lockFile, writable, out var why) is not { } held)
                {
                    warnings.Add(Errors.Errors.LockFileNotWritable.With(name, lockFile, why));
                    continue;
                }

                var from = new Origin(OriginKind.ProjectProperty, project.NuGetLockFilePath is null ? "RestorePackagesWithLockFile" : "NuGetLockFilePath", project.ProjectPath);
                rules.Add(new PathRule(directory, PathAccess.ReadWrite, $"NuGet lock file of {name}: the restore replaces {Path.GetFileName(lockFile)} through a temporary file beside it; everything else here stays read-only", Origin: from));
                rules.AddRange(held.Where(e => !rules.Any(r => r.Path == e)).Select(e => new PathRule(e, PathAccess.ReadOnly, "beside the lock file of " + name + ": the restore may replace the lock file, not this", Directory.Exists(e) ? PathKind.Directory : PathKind.File)));
                lockDirectories.Add(new LockFileDirectory(directory, lockFile, held));
            }
        }

        var network = options.NetworkMode;
        var noDefaultPresets = options.NoDefaultPresets;
        if (step == WorkflowStep.Restore)
        {
            AddFeeds(model, root, host.HomeDirectory, hosts, rules, Approved, warnings);
            if (model.NuGet.UserConfigFile is { } userConfig && sanitizedUserConfig is not null)
            {
                rules.Add(new PathRule(userConfig, PathAccess.ReadOnly, "your NuGet.Config with every credential removed: the feeds, not the secrets", PathKind.File, Source: sanitizedUserConfig));
            }

            if (model.NuGet.HttpCacheFolder is { Length: > 0 } cache && BroadPaths.DescribeTooBroad(cache, host.HomeDirectory) is null)
            {
                rules.Add(new PathRule(cache, PathAccess.ReadWrite, "NuGet HTTP cache: feed responses kept between restores", CreateIfMissing: true));
                unprotected.Add(cache);
                env.Add(new EnvironmentEntry("NUGET_HTTP_CACHE_PATH", cache, "the HTTP cache of the effective NuGet configuration"));
            }

            foreach (var source in model.NuGet.Sources.Where(s => s.HasCredentials))
            {
                warnings.Add(Errors.Errors.CredentialsNotPassed.With(source.Name, source.ConfigFile));
            }
        }
        else
        {
            // Build, test and run reach nothing unless the project (approved) or the command line names hosts.
            if (step is WorkflowStep.Test or WorkflowStep.Run)
            {
                foreach (var project in model.Projects)
                {
                    foreach (var pattern in project.AllowedHosts)
                    {
                        try
                        {
                            _ = HostRule.Parse(pattern, "SandboxAllowedHost", string.Empty);
                        }
                        catch (SandboxException)
                        {
                            warnings.Add(Errors.Errors.InferredPathRefused.With("SandboxAllowedHost", pattern, Rel(project.ProjectPath), "not a host pattern (a name, *.suffix or an address, with an optional :port)"));
                            continue;
                        }

                        var w = new ProjectWidening(WideningKind.Host, pattern, "SandboxAllowedHost in " + Rel(project.ProjectPath), [WorkflowStep.Test, WorkflowStep.Run]);
                        if (Approved(w))
                        {
                            hosts.Add(HostRule.Parse(pattern, "SandboxAllowedHost", "SandboxAllowedHost in " + Rel(project.ProjectPath) + ", approved with 'dotnet sandbox trust'", new Origin(OriginKind.ProjectItem, "SandboxAllowedHost", project.ProjectPath)));
                        }
                    }
                }
            }

            // The build step is always offline: it compiles, and what it needs was restored.
            noDefaultPresets = true;
            if (step == WorkflowStep.Build || (network == NetworkMode.Filtered && hosts.Count == 0 && options.AllowHosts.Count == 0 && options.Presets.Count == 0))
            {
                network = NetworkMode.None;
                hosts.Clear();
                options = options with { AllowHosts = [], DenyHosts = [], Presets = [] };
            }
        }

        var work = new WorkArea(rules, model.NuGet.GlobalPackagesFolder, hosts, env) { Unprotected = unprotected };
        var policy = ExecPolicyBuilder.Build(host, options with { NetworkMode = network, NoDefaultPresets = noDefaultPresets }, warnings, work);
        return new StepPlan(policy, applied, pending.DistinctBy(w => w.ToString()).ToList()) { WritablePackageFolders = packageWrites, LockFileDirectories = lockDirectories };
    }

    /// <summary>Every widening the project files ask for, approved or not, for <c>dotnet sandbox trust</c>.</summary>
    /// <param name="host">Facts about the caller.</param>
    /// <param name="model">The project model.</param>
    /// <param name="warnings">Receives, once each, the coded warnings about what is refused outright.</param>
    public static IReadOnlyList<ProjectWidening> AllWidenings(HostFacts host, ProjectModel model, ICollection<Diagnostic>? warnings = null)
    {
        var all = new List<ProjectWidening>();
        var said = new List<Diagnostic>();
        foreach (var step in Enum.GetValues<WorkflowStep>())
        {
            var plan = Build(host, model, step, new ExecOptions(), TrustStore.Load("/nonexistent/trusted.json"), said);
            all.AddRange(plan.Pending);
        }

        foreach (var warning in said.DistinctBy(d => d.ToString(), StringComparer.Ordinal))
        {
            warnings?.Add(warning);
        }

        return all.DistinctBy(w => (w.Kind, w.Value, w.Origin)).Select(w => w with { Steps = [.. all.Where(o => o.Kind == w.Kind && o.Value == w.Value && o.Origin == w.Origin).SelectMany(o => o.Steps).Distinct()] }).ToList();
    }

    private static void AddFeeds(ProjectModel model, string root, string home, List<HostRule> hosts, List<PathRule> rules, Func<ProjectWidening, bool> approved, ICollection<Diagnostic> warnings)
    {
        var preset = new NetworkPolicy(NetworkMode.Filtered, [.. Presets.Default.SelectMany(p => Presets.Get(p) ?? [])], [], string.Empty);
        // Audit sources: since NuGet 6.12 a restore fetches vulnerability data from them.
        foreach (var source in model.NuGet.Sources.Concat(model.NuGet.AuditSources))
        {
            var origin = $"source '{source.Name}' in {source.ConfigFile}";
            var needsApproval = !source.Origin.IsTrusted;
            if (!source.IsHttp)
            {
                var folder = source.Url;
                if (PathUtil.IsSameOrUnder(folder, root) || !Directory.Exists(folder))
                {
                    continue;
                }

                if (HostPath.Resolve(HostFileSystem.Instance, folder, home) is { IsUntrusted: true } linked)
                {
                    warnings.Add(Errors.Errors.InferredPathThroughLink.With("local package source", folder, origin, linked.Link, linked.Target, linked.Real));
                    continue;
                }

                if (folder == "/" || BroadPaths.DescribeSensitiveRead(folder, home) is not null)
                {
                    warnings.Add(Errors.Errors.InferredPathRefused.With("local package source", folder, origin, folder == "/" ? "the root directory" : BroadPaths.DescribeSensitiveRead(folder, home)!));
                    continue;
                }

                if (!needsApproval || approved(new ProjectWidening(WideningKind.Read, folder, origin, [WorkflowStep.Restore])))
                {
                    rules.Add(new PathRule(folder, PathAccess.ReadOnly, "local package " + origin, Origin: new Origin(OriginKind.NuGetConfig, source.Name, source.ConfigFile)));
                }

                continue;
            }

            var request = FeedWidening(source);
            var rule = HostRule.Parse(request.Value, "NuGet.config", "package " + origin, new Origin(OriginKind.NuGetConfig, source.Name, source.ConfigFile));
            if (preset.Decide(rule.Host, source.Port ?? 443).Verdict == Verdict.Allowed)
            {
                continue;
            }

            if (needsApproval && !approved(request))
            {
                continue;
            }

            hosts.Add(rule);
            if (model.FeedHosts.TryGetValue(source.Url, out var resources))
            {
                foreach (var resource in resources.Where(r => !r.StartsWith(source.Host + ":", StringComparison.OrdinalIgnoreCase)))
                {
                    var (h, port) = (resource[..resource.LastIndexOf(':')], int.Parse(resource[(resource.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture));
                    hosts.Add(HostRule.Parse(HostRule.DefaultPorts.Contains(port) ? h : resource, "service index", $"named by the service index of {origin}", new Origin(OriginKind.ServiceIndex, source.Url, source.ConfigFile)));
                }
            }
        }

        foreach (var project in model.Projects)
        {
            foreach (var url in project.RestoreSources.Where(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || u.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
                {
                    continue;
                }

                var pattern = uri.IsDefaultPort ? uri.Host : uri.Host + ":" + uri.Port.ToString(CultureInfo.InvariantCulture);
                if (preset.Decide(uri.Host, uri.Port).Verdict == Verdict.Allowed)
                {
                    continue;
                }

                if (approved(new ProjectWidening(WideningKind.Host, pattern, "RestoreSources of " + Path.GetRelativePath(root, project.ProjectPath), [WorkflowStep.Restore])))
                {
                    hosts.Add(HostRule.Parse(pattern, "RestoreSources", "RestoreSources of " + Path.GetRelativePath(root, project.ProjectPath) + ", approved", new Origin(OriginKind.ProjectProperty, "RestoreSources", project.ProjectPath)));
                }
            }
        }
    }

    /// <summary>
    /// The approval a package source's host needs when a project's NuGet.config (in the repository or
    /// above it) names it; the same request
    /// decides whether its service index may be fetched before any step runs.
    /// </summary>
    public static ProjectWidening FeedWidening(NuGetSource source) => new(
        WideningKind.Host,
        source.Host + (source.Port is { } p && !HostRule.DefaultPorts.Contains(p) ? ":" + p.ToString(CultureInfo.InvariantCulture) : string.Empty),
        $"source '{source.Name}' in {source.ConfigFile}",
        [WorkflowStep.Restore]);

    /// <summary>
    /// Why a directory a project file names may never be made writable, or <see langword="null"/>:
    /// too broad (a home, a system directory, /), or a protected location (the git directory, a
    /// shell startup file, an IDE or hook folder) at any depth, whose contents run outside.
    /// </summary>
    internal static string? RefusedWrite(string path, string root, string home)
    {
        if (BroadPaths.DescribeTooBroad(path, home) is { } broad)
        {
            return broad;
        }

        if (!PathUtil.IsSameOrUnder(path, root) && BroadPaths.DescribeOtherUsersHome(path, home) is { } other)
        {
            return other;
        }

        var segments = (PathUtil.IsSameOrUnder(path, root) ? Path.GetRelativePath(root, path) : path).Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.FirstOrDefault(s => s == ".git" || ExecPolicyBuilder.ProtectedNames.Any(n => n.Name == s)) is { } name
            ? $"inside '{name}', whose contents run outside the sandbox (git hooks and config, shell startup files, IDE and hook folders)"
            : null;
    }

    /// <summary>The project files, build files and repository markers whose presence at the top of a directory says it holds sources.</summary>
    private static readonly string[] SourceMarkers =
    [
        ".git", "global.json", "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "nuget.config", "NuGet.config", "NuGet.Config",
    ];

    private static readonly string[] ProjectExtensions = [".csproj", ".fsproj", ".vbproj", ".proj", ".sln", ".slnx", ".slnf"];

    /// <summary>
    /// Why a directory to write is not output-like, or <see langword="null"/>: the repository root, a
    /// directory that holds a project (or one above it), or one with project or build files at its top.
    /// Writing there would let a step change the sources and build files that the next, unsandboxed
    /// build runs.
    /// </summary>
    internal static string? NotOutputLike(string path, string root, ProjectModel model)
    {
        if (path == root)
        {
            return "the repository root, which holds the sources";
        }

        if (PathUtil.IsSameOrUnder(root, path))
        {
            return "a directory above the repository";
        }

        if (model.Projects.FirstOrDefault(p => PathUtil.IsSameOrUnder(Path.GetDirectoryName(p.ProjectPath)!, path)) is { } project)
        {
            return $"the directory of {Path.GetFileName(project.ProjectPath)} or one above it, which holds its sources";
        }

        try
        {
            if (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).FirstOrDefault(n =>
                    SourceMarkers.Contains(n, StringComparer.Ordinal) || ProjectExtensions.Any(e => n!.EndsWith(e, StringComparison.OrdinalIgnoreCase))) is { } marker)
            {
                return $"a directory that holds sources or build files ('{marker}' is in it)";
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "a directory whose contents cannot be listed";
        }

        return null;
    }

    /// <summary>Whether <paramref name="what"/> names an MSBuild property (a default such as "TestResults/ (…)" does not).</summary>
    private static bool IsPropertyName(string what) => what.Length > 0 && what.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
