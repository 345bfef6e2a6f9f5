using System.Collections.Immutable;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;

namespace SandboxedBuild.Policy;

/// <summary>The project part of a policy: its paths, variables and hosts, in place of a writable working directory.</summary>
/// <param name="Rules">Path rules added after the system ones (a rule for the same path replaces the system one).</param>
/// <param name="PackagesFolder">The NuGet global packages folder the project uses, if known.</param>
/// <param name="Hosts">Hosts the project's steps may reach, besides presets and the command line's.</param>
/// <param name="Environment">Variables set after the defaults.</param>
public sealed record WorkArea(IReadOnlyList<PathRule> Rules, string? PackagesFolder = null, IReadOnlyList<HostRule>? Hosts = null, IReadOnlyList<EnvironmentEntry>? Environment = null)
{
    /// <summary>Variables set after the defaults.</summary>
    public IReadOnlyList<EnvironmentEntry> Environment { get; init; } = Environment ?? [];

    /// <summary>Hosts the project's steps may reach.</summary>
    public IReadOnlyList<HostRule> Hosts { get; init; } = Hosts ?? [];

    /// <summary>Writable directories that nobody opens a shell or runs git in (the packages folder, the HTTP cache): no placeholders for protected names there.</summary>
    public IReadOnlySet<string> Unprotected { get; init; } = new HashSet<string>(StringComparer.Ordinal);
}

/// <summary>
/// Builds the policy for running an arbitrary command in a directory: the directory is writable,
/// the toolchain is readable, the home directory and the host's temporary directories are replaced
/// by empty private ones, /run and the rest of /var are not mounted at all, and a fixed set of
/// files that execute later outside the sandbox stays read-only.
/// </summary>
public static class ExecPolicyBuilder
{
    /// <summary>System directories the toolchain needs, read-only. /etc is curated by <see cref="HiddenSystemPaths"/>.</summary>
    internal static readonly string[] SystemDirectories = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"];

    /// <summary>Host secrets below the system directories, hidden even though their parents are readable.</summary>
    internal static readonly string[] HiddenSystemPaths =
    [
        "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/ssh", "/etc/ssl/private",
        "/etc/sudoers", "/etc/sudoers.d", "/etc/security/opasswd",
    ];

    /// <summary>Directories replaced by empty private ones. /run and /var are simply not mounted, which keeps host sockets out.</summary>
    internal static readonly string[] ScratchDirectories = ["/tmp", "/var/tmp", "/dev/shm"];

    /// <summary>
    /// Paths below every writable directory that run code later, outside the sandbox, and so stay
    /// read-only. Missing ones are held by placeholders for the run.
    /// </summary>
    internal static readonly (string Name, PathKind Kind, string Why)[] ProtectedNames =
    [
        (".envrc", PathKind.File, "direnv runs it when a shell enters the directory"),
        (".bashrc", PathKind.File, "shell startup file"),
        (".bash_profile", PathKind.File, "shell startup file"),
        (".bash_login", PathKind.File, "shell startup file"),
        (".profile", PathKind.File, "shell startup file"),
        (".zshrc", PathKind.File, "shell startup file"),
        (".zshenv", PathKind.File, "shell startup file"),
        (".zprofile", PathKind.File, "shell startup file"),
        (".zlogin", PathKind.File, "shell startup file"),
        (".vscode", PathKind.Directory, "VS Code tasks and settings run commands"),
        (".idea", PathKind.Directory, "JetBrains run configurations run commands"),
        (".devcontainer", PathKind.Directory, "dev container definitions run commands on the host"),
        (".husky", PathKind.Directory, "git hook scripts"),
        (".githooks", PathKind.Directory, "git hook scripts"),
    ];

    /// <summary>Builds the policy.</summary>
    /// <param name="host">Facts about the caller.</param>
    /// <param name="options">Explicit widenings.</param>
    /// <param name="warnings">Receives coded warnings about what the options loosen.</param>
    /// <exception cref="SandboxException">An option or the working directory is refused.</exception>
    public static SandboxPolicy Build(HostFacts host, ExecOptions options, ICollection<Diagnostic> warnings)
    {
        var cwd = host.WorkingDirectory;
        InputCheck.RequireNameablePath("the working directory", cwd);
        if (!host.FileSystem.DirectoryExists(cwd))
        {
            throw new SandboxException(Errors.Errors.WorkingDirectoryMissing, cwd);
        }

        if (BroadPaths.DescribeTooBroad(cwd, host.HomeDirectory) is { } what)
        {
            throw new SandboxException(Errors.Errors.WorkingDirectoryTooBroad, cwd, what);
        }

        var work = new WorkArea([new PathRule(cwd, PathAccess.ReadWrite, "working directory: the project the command works on")]);
        return Build(host, options, warnings, work);
    }

    /// <summary>
    /// Builds the policy with the system part of <see cref="Build(HostFacts, ExecOptions, ICollection{Diagnostic})"/>
    /// and the project part described by <paramref name="work"/> instead of a writable working directory.
    /// </summary>
    /// <param name="host">Facts about the caller; its working directory is where the command starts.</param>
    /// <param name="options">Explicit widenings from the command line.</param>
    /// <param name="warnings">Receives coded warnings.</param>
    /// <param name="work">The project's paths, variables and hosts, already validated by the caller.</param>
    public static SandboxPolicy Build(HostFacts host, ExecOptions options, ICollection<Diagnostic> warnings, WorkArea work)
    {
        var fs = host.FileSystem;
        var cwd = host.WorkingDirectory;
        var words = options.Wording ?? RemedyWording.Neutral;
        if (!fs.DirectoryExists(cwd))
        {
            throw new SandboxException(Errors.Errors.WorkingDirectoryMissing, cwd);
        }

        // Later entries for the same path replace earlier ones, so the order below is the order of precedence.
        var rules = new Dictionary<string, PathRule>(StringComparer.Ordinal);
        void Add(PathRule rule) => rules[rule.Path] = rule;

        foreach (var dir in SystemDirectories.Where(d => fs.DirectoryExists(d) || fs.LinkTarget(d) is not null))
        {
            Add(new PathRule(dir, PathAccess.ReadOnly, dir == "/etc"
                ? "system configuration, read-only; its secrets are hidden"
                : "system directory: the toolchain and its libraries, read-only"));
        }

        foreach (var secret in HiddenSystemPaths.Where(p => fs.DirectoryExists(p) || fs.FileExists(p)))
        {
            Add(new PathRule(secret, PathAccess.Hidden, "host secret below a readable system directory", fs.DirectoryExists(secret) ? PathKind.Directory : PathKind.File));
        }

        foreach (var dir in ScratchDirectories)
        {
            Add(new PathRule(dir, PathAccess.Scratch, "private temporary directory: empty at start, discarded at exit; the host's is not visible"));
        }

        Add(new PathRule(host.HomeDirectory, PathAccess.Scratch,
            "home directory: replaced by an empty private one, so keys and tokens in it are not visible; discarded at exit"));

        if (FindDotnetRoot(host) is { } dotnetRoot && !rules.Values.Any(r => r.Access == PathAccess.ReadOnly && PathUtil.IsSameOrUnder(dotnetRoot, r.Path)))
        {
            Add(new PathRule(dotnetRoot, PathAccess.ReadOnly, "the .NET installation that 'dotnet' on PATH runs, read-only"));
        }

        var packages = NuGetPackagesFolder(host);
        if (fs.DirectoryExists(packages) && HostPath.Resolve(fs, packages, host.HomeDirectory) is var resolvedPackages)
        {
            if (resolvedPackages.IsUntrusted)
            {
                warnings.Add(Errors.Errors.InferredPathThroughLink.With("the packages folder", packages, "NUGET_PACKAGES or the NuGet default", resolvedPackages.Link, resolvedPackages.Target, resolvedPackages.Real));
            }
            else
            {
                Add(new PathRule(packages, PathAccess.ReadOnly, "NuGet global packages folder: restored packages that builds reference, read-only"));
            }
        }

        foreach (var rule in work.Rules)
        {
            Add(rule);
        }

        foreach (var raw in options.AllowRead)
        {
            var path = PathUtil.Normalize(raw, cwd);
            RequireExists(fs, words.Setting(Origin.Settings.AllowRead), path);
            var real = RequireNoPlantedLink(host, words.Setting(Origin.Settings.AllowRead), path);
            if (path == "/" || real == "/")
            {
                throw new SandboxException(Errors.Errors.AllowedPathTooBroad, words.Setting(Origin.Settings.AllowRead), path, "the whole host, host unix sockets included");
            }

            if ((BroadPaths.DescribeSensitiveRead(path, host.HomeDirectory) ?? BroadPaths.DescribeSensitiveRead(real, host.HomeDirectory)) is { } exposed)
            {
                warnings.Add(Errors.Errors.SensitiveReadAllowed.With(path, exposed));
            }

            Add(new PathRule(path, PathAccess.ReadOnly, string.Empty, Origin: Origin.Setting(Origin.Settings.AllowRead, raw, path, cwd)));
        }

        foreach (var (setting, raw) in options.AllowWrite.Select(p => (Origin.Settings.AllowWrite, p)).Concat(options.CommandOutputs.Select(o => (o.Setting, o.Path))))
        {
            var path = PathUtil.Normalize(raw, cwd);

            // A directory below the working directory that does not exist yet (an output the command
            // makes: --allow-write artifacts/tr) is created before the run, along its real location
            // with no link followed, as the inferred output directories are. Anywhere else it must exist.
            var create = !fs.DirectoryExists(path) && !fs.FileExists(path) && fs.LinkTarget(path) is null && path != cwd && PathUtil.IsSameOrUnder(path, cwd);
            var real = RequireNoPlantedLink(host, words.Setting(setting), path);
            if (!create)
            {
                RequireExists(fs, words.Setting(setting), path);
            }

            if ((BroadPaths.DescribeTooBroad(path, host.HomeDirectory) ?? BroadPaths.DescribeTooBroad(real, host.HomeDirectory)) is { } broad)
            {
                throw new SandboxException(Errors.Errors.AllowedPathTooBroad, words.Setting(setting), path, broad);
            }

            Add(new PathRule(path, PathAccess.ReadWrite, string.Empty, CreateIfMissing: create, Origin: Origin.Setting(setting, raw, path, cwd)));
        }

        // Protect what executes later below every writable directory. An explicit --allow-write of a
        // protected path itself still wins: it is the user's visible choice.
        var explicitWrites = options.AllowWrite.Concat(options.CommandOutputs.Select(o => o.Path)).Select(p => PathUtil.Normalize(p, cwd)).ToHashSet(StringComparer.Ordinal);
        foreach (var root in rules.Values.Where(r => r.Access == PathAccess.ReadWrite && (fs.DirectoryExists(r.Path) || r.CreateIfMissing) && !work.Unprotected.Contains(r.Path)).Select(r => r.Path).ToList())
        {
            foreach (var rule in ProtectedRules(fs, root).Where(r => !explicitWrites.Contains(r.Path)))
            {
                Add(rule);
            }
        }

        // Every bind source is resolved on the host before it becomes a mount: bubblewrap would bind
        // the target of any link in it. The callers refuse what they add with their own messages;
        // this is the net under them, and the one check for protected names.
        foreach (var rule in rules.Values.Where(r => r.Access is PathAccess.ReadWrite or PathAccess.Protected || (r.Access == PathAccess.ReadOnly && r.Source is null)).ToList())
        {
            if (rule.Access == PathAccess.Protected && fs.LinkTarget(rule.Path) is { } protectedTarget)
            {
                throw new SandboxException(Errors.Errors.ProtectedPathIsLink, rule.Path, protectedTarget, rule.Reason());
            }

            if ((rule.Access != PathAccess.Protected || fs.DirectoryExists(rule.Path) || fs.FileExists(rule.Path))
                && HostPath.Resolve(fs, rule.Path, host.HomeDirectory) is { IsUntrusted: true } resolved)
            {
                throw new SandboxException(Errors.Errors.PathThroughLink, "the policy entry", rule.Path, resolved.Link, resolved.Target, resolved.Real);
            }
        }

        var network = NetworkPolicyBuilder.Build(options, warnings, work.Hosts);
        var environment = SandboxEnvironment.Build(host, options, work.PackagesFolder ?? packages, network, warnings, work.Environment);
        var ordered = rules.Values.OrderBy(r => PathUtil.Depth(r.Path)).ThenBy(r => r.Path, StringComparer.Ordinal).ToImmutableArray();
        var bounds = ResourceBounds.For(host.MemoryTotal, options.TmpfsSize, options.MaxProcesses, host.IsRoot, host.PidsCgroupParent, options.Wording);
        if (options.MaxProcesses is { } max && !bounds.ProcessBoundEnforced)
        {
            warnings.Add(Errors.Errors.BoundNotApplied.With(
                $"{(options.Wording ?? RemedyWording.Neutral).Setting(Origin.Settings.MaxProcesses)} {max}",
                "the caller is root, the kernel does not hold processes of uid 0 to RLIMIT_NPROC (the sandbox runs as uid 0 on the host), and no pids cgroup can be made here (" + host.PidsCgroupWhy + ")",
                "run as an unprivileged user, or where root may make cgroups with the pids controller (see 'dotnet sandbox doctor'); the tmpfs sizes hold for every caller."));
        }

        return new SandboxPolicy(cwd, ordered, environment, network) { Bounds = bounds };
    }

    /// <summary>The real location of a path the user named; refused when a link a sandbox could have planted leads there.</summary>
    private static string RequireNoPlantedLink(HostFacts host, string option, string path)
    {
        var resolved = HostPath.Resolve(host.FileSystem, path, host.HomeDirectory);
        return resolved.IsUntrusted
            ? throw new SandboxException(Errors.Errors.PathThroughLink, option, path, resolved.Link, resolved.Target, resolved.Real)
            : resolved.Real;
    }

    private static void RequireExists(IFileSystem fs, string option, string path)
    {
        if (!fs.DirectoryExists(path) && !fs.FileExists(path))
        {
            throw new SandboxException(Errors.Errors.AllowedPathMissing, option, path);
        }
    }

    private static IEnumerable<PathRule> ProtectedRules(IFileSystem fs, string root)
    {
        var git = root + "/.git";
        if (fs.LinkTarget(git) is not null)
        {
            // Refused by the caller: binding it would show, and pin, whatever it points to.
            yield return new PathRule(git, PathAccess.Protected, "git repository; a link in its place could point anywhere", PathKind.File);
        }
        else if (GitRepository.IsRepositoryDirectory(fs, git))
        {
            // A mount point cannot be renamed or removed: binding .git onto itself stops the command
            // from moving the protected entries aside and putting a fresh .git in its place.
            yield return new PathRule(git, PathAccess.ReadWrite, "git repository: writable for commits, but pinned in place so it cannot be swapped out");
            yield return new PathRule(git + "/hooks", PathAccess.Protected, "git hooks run outside the sandbox on the next git command");
            yield return new PathRule(git + "/config", PathAccess.Protected, "git config can set core.hooksPath, core.fsmonitor and other commands", PathKind.File);
            yield return new PathRule(git + "/modules", PathAccess.Protected, "submodules carry their own hooks and config");
            yield return new PathRule(git + "/commondir", PathAccess.Protected, "would point git at another directory's config and hooks; removed after the run if created", PathKind.File, RemoveIfCreated: true);
            yield return new PathRule(git + "/config.worktree", PathAccess.Protected, "per-worktree config, read like .git/config; removed after the run if created", PathKind.File, RemoveIfCreated: true);
            yield return new PathRule(git + "/worktrees", PathAccess.Protected, "linked worktrees carry their own config and git directory pointers");
        }
        else if (fs.FileExists(git))
        {
            yield return new PathRule(git, PathAccess.Protected, "points git at the repository's real directory; a changed pointer would run another repository's hooks", PathKind.File);
        }
        else
        {
            yield return new PathRule(git, PathAccess.Protected, "no repository here: the command may not create one whose hooks and config run outside", PathKind.Directory);
        }

        foreach (var (name, kind, why) in ProtectedNames)
        {
            yield return new PathRule(root + "/" + name, PathAccess.Protected, why + "; runs outside the sandbox", kind);
        }
    }

    private static string? FindDotnetRoot(HostFacts host)
    {
        if (host.Variables.TryGetValue("DOTNET_ROOT", out var root) && root.Length > 0 && host.FileSystem.DirectoryExists(root))
        {
            return PathUtil.Normalize(root, "/");
        }

        if (!host.Variables.TryGetValue("PATH", out var path))
        {
            return null;
        }

        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "dotnet");
            if (host.FileSystem.IsExecutableFile(candidate))
            {
                var resolved = ResolveLinks(host.FileSystem, candidate);
                return Path.GetDirectoryName(resolved);
            }
        }

        return null;
    }

    private static string ResolveLinks(IFileSystem fs, string path)
    {
        for (var i = 0; i < 40 && fs.LinkTarget(path) is { } target; i++)
        {
            path = PathUtil.Normalize(target, Path.GetDirectoryName(path)!);
        }

        return path;
    }

    /// <summary>The NuGet global packages folder the caller's restores use.</summary>
    internal static string NuGetPackagesFolder(HostFacts host) =>
        host.Variables.TryGetValue("NUGET_PACKAGES", out var p) && p.Length > 0
            ? PathUtil.Normalize(p, host.WorkingDirectory)
            : host.HomeDirectory + "/.nuget/packages";
}
