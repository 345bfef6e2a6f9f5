using System.Text;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Linux;

/// <summary>
/// Renders a <see cref="SandboxPolicy"/> as a bubblewrap argument vector. A pure function of the
/// policy and a few file system facts, so that it is reviewed and tested as text.
/// </summary>
public static class BwrapCommandLine
{
    /// <summary>The oldest bubblewrap with every option used here (<c>--disable-userns</c> came in 0.8.0).</summary>
    public static readonly Version MinimumVersion = new(0, 8, 0);

    /// <summary>Builds the arguments that follow the <c>bwrap</c> executable.</summary>
    /// <param name="policy">What the command may do.</param>
    /// <param name="command">The command and its arguments, already resolved.</param>
    /// <param name="fs">The host file system, to tell files from directories and links.</param>
    /// <param name="statusFd">The descriptor bubblewrap reports the child's pid and exit status on, if any.</param>
    /// <param name="bridge">With network, how the bridge to the egress proxy gets in; placeholders when <see langword="null"/>.</param>
    /// <param name="readyMarker">
    /// When launching: a directory for bubblewrap to create in the new root, and a <c>--block-fd</c>
    /// (its number a placeholder the launcher fills in) to wait on, so that the mounts are checked
    /// before the command starts (<see cref="MountCheck"/>). Printed command lines have neither.
    /// </param>
    /// <param name="bound">Receives each path bound over itself (<c>--bind P P</c>, <c>--ro-bind P P</c>), for the mount check.</param>
    public static IReadOnlyList<string> Build(SandboxPolicy policy, IReadOnlyList<string> command, IFileSystem fs, int? statusFd = null, BridgeMounts? bridge = null, string? readyMarker = null, ICollection<string>? bound = null)
    {
        var args = new List<string>
        {
            // Namespaces. A user namespace always, for root callers too: without it root keeps its
            // capabilities and can remount any read-only bind writable. No nested user namespaces.
            "--unshare-user", "--disable-userns",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            // Only a loopback interface: no route out, and the host's abstract unix sockets are out of reach.
            "--unshare-net",
            // Nothing outlives the sandbox; a new session stops TIOCSTI injection into the caller's terminal.
            "--die-with-parent", "--new-session",
            "--cap-drop", "ALL",
            "--proc", "/proc",
            "--dev", "/dev",
        };

        // Parents before children: a bind below a tmpfs must come after the tmpfs.
        foreach (var rule in policy.Paths)
        {
            AddMount(args, rule, policy, fs, bound);
        }

        // bubblewrap's --dev is a writable tmpfs of half the memory that no --size reaches: once
        // everything below it is mounted, it becomes read-only (the device nodes and /dev/shm are
        // mounts of their own and stay usable).
        args.AddRange(["--remount-ro", "/dev"]);

        if (policy.Network.Mode != NetworkMode.None)
        {
            // The proxy's socket and this tool, read-only: the bridge runs first, listens on the
            // loopback port the proxy variables name, then starts the command as its child.
            bridge ??= BridgeMounts.ForPrinting;
            args.AddRange(["--ro-bind", bridge.HostSocketDirectory, Bridge.SocketDirectoryInside]);
            foreach (var (hostPath, insidePath) in bridge.Tool)
            {
                args.AddRange(["--ro-bind", hostPath, insidePath]);
            }

            command = [.. bridge.Launcher, .. Bridge.Arguments(policy.Network.ProxyPort, policy.Network.LoopbackForwards().Select(f => f.Port), command)];
        }

        if (readyMarker is not null)
        {
            args.AddRange(["--dir", readyMarker, "--block-fd", BlockFdPlaceholder]);
        }

        // The root bubblewrap builds is a tmpfs too, of half the memory and owned by the command's
        // uid: once the last mount point is made in it, it becomes read-only, so that nothing can be
        // written outside the bounded mounts.
        args.AddRange(["--remount-ro", "/"]);

        args.Add("--chdir");
        args.Add(policy.WorkingDirectory);
        if (statusFd is { } fd)
        {
            args.Add("--json-status-fd");
            args.Add(fd.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        args.Add("--");
        args.AddRange(command);
        return args;
    }

    /// <summary>Stands for the <c>--block-fd</c> descriptor, whose number is known only once the launcher made the pipe.</summary>
    public const string BlockFdPlaceholder = "BLOCK_FD";

    private static void AddMount(List<string> args, PathRule rule, SandboxPolicy policy, IFileSystem fs, ICollection<string>? bound)
    {
        var path = rule.Path;
        var isDirectory = fs.DirectoryExists(path);
        var exists = isDirectory || fs.FileExists(path);
        switch (rule.Access)
        {
            case PathAccess.ReadOnly when rule.Source is { } source:
                args.AddRange(["--ro-bind", source, path]);
                break;
            case PathAccess.ReadOnly when fs.LinkTarget(path) is { } target && IsSymlinkWorthKeeping(path, target, policy):
                // /bin -> usr/bin: recreate the link instead of binding the same tree twice.
                args.AddRange(["--symlink", target, path]);
                break;
            case PathAccess.ReadOnly when exists:
                args.AddRange(["--ro-bind", path, path]);
                bound?.Add(path);
                break;
            case PathAccess.ReadWrite when exists || rule.CreateIfMissing:
                args.AddRange(["--bind", path, path]);
                bound?.Add(path);
                break;
            case PathAccess.Scratch:
                // Bounded: what is written there stays in the host's memory until the run ends.
                args.AddRange(["--perms", IsSharedTemp(path) ? "1777" : "0700", "--size", policy.Bounds.TmpfsBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tmpfs", path]);
                break;
            case PathAccess.Hidden when isDirectory:
                args.AddRange(["--perms", "0555", "--tmpfs", path, "--remount-ro", path]);
                break;
            case PathAccess.Hidden when exists:
                args.AddRange(["--ro-bind", "/dev/null", path]);
                break;
            case PathAccess.Protected when exists || NeedsPlaceholder(rule, fs):
                // A missing protected path is held by an empty placeholder that the launcher creates
                // on the host just before the run (and removes after it), so the bind is the same
                // either way. Creating it from outside, as the caller, works where bubblewrap could
                // not: a root caller in a directory owned by someone else, for one.
                args.AddRange(["--ro-bind", path, path]);
                bound?.Add(path);
                break;
            default:
                // Nothing on the host to show or hide, and nothing the command could create.
                break;
        }
    }

    /// <summary>Protected paths that are missing and cannot be held by a placeholder: the caller removes them after the run if the command created them.</summary>
    public static IReadOnlyList<PathRule> RemoveIfCreated(SandboxPolicy policy, IFileSystem fs) =>
        [.. policy.Paths.Where(r => r.Access == PathAccess.Protected && r.RemoveIfCreated && !fs.DirectoryExists(r.Path) && !fs.FileExists(r.Path))];

    private static bool NeedsPlaceholder(PathRule rule, IFileSystem fs) =>
        MayHoldPlaceholder(rule, fs) && !fs.DirectoryExists(rule.Path) && !fs.FileExists(rule.Path);

    /// <summary>
    /// Whether a placeholder may hold <paramref name="rule"/>'s name when it is missing: a protected
    /// name not removed after the run instead, whose parent the caller can write. The launcher holds
    /// these (<see cref="Leftovers.HoldPlaceholders"/>), and a missing one is bound all the same.
    /// </summary>
    internal static bool MayHoldPlaceholder(PathRule rule, IFileSystem fs) =>
        rule.Access == PathAccess.Protected && !rule.RemoveIfCreated && fs.IsWritableDirectory(Path.GetDirectoryName(rule.Path)!);

    private static bool IsSymlinkWorthKeeping(string path, string target, SandboxPolicy policy)
    {
        var resolved = PathUtil.Normalize(target, Path.GetDirectoryName(path)!);
        return policy.IsVisible(resolved);
    }

    private static bool IsSharedTemp(string path) => path is "/tmp" or "/var/tmp" or "/dev/shm";

    /// <summary>
    /// Quotes one argument for a POSIX shell, for <c>--print-policy --format bwrap</c>, so that the
    /// printed command can be pasted and run.
    /// </summary>
    public static string ShellQuote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c))
            ? arg
            : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// The exact command line that enforces the policy on Linux, one argument per line, as a shell
    /// command that can be pasted; secret-looking values are masked.
    /// </summary>
    public static string ToShell(SandboxPolicy policy, IReadOnlyList<string> command, IFileSystem fs, string bwrap = "bwrap")
    {
        var sb = new StringBuilder("env -i \\\n");
        foreach (var env in policy.Environment)
        {
            sb.Append("  ").Append(ShellQuote(env.Name + "=" + (env.LooksSecret ? PolicyWriter.Masked : env.Value))).AppendLine(" \\");
        }

        sb.Append(ShellQuote(bwrap));
        var args = Build(policy, command, fs);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            // One option with its operands per line; --perms and --size belong to the mount that follows them.
            var newLine = arg.StartsWith("--", StringComparison.Ordinal) && !(i >= 2 && args[i - 2] is "--perms" or "--size");
            sb.Append(newLine ? " \\\n  " : " ").Append(ShellQuote(arg));
        }

        return sb.AppendLine().ToString();
    }
}
