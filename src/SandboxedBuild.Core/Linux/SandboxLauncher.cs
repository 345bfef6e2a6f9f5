using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Linux;

/// <summary>The outcome of a sandboxed run.</summary>
/// <param name="ExitCode">The command's exit status (128+N when a signal killed it).</param>
/// <param name="Elapsed">Wall time from spawning bubblewrap to its exit.</param>
/// <param name="Warnings">Coded warnings about what the sandbox had to undo after the run.</param>
public sealed record LaunchResult(int ExitCode, TimeSpan Elapsed, IReadOnlyList<Diagnostic> Warnings);

/// <summary>
/// Runs a command under bubblewrap with a policy: stdio is inherited, the exit status is passed
/// through, and SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to the caller are forwarded to the command.
/// </summary>
/// <remarks>
/// bubblewrap is started in its own process group, so a Ctrl-C at the terminal reaches only this
/// process, which forwards it to the command's process group inside the sandbox. Were bubblewrap in
/// the terminal's group it would die of the SIGINT itself and take the command down with SIGKILL,
/// giving it no chance to clean up. <c>--new-session</c> detaches the command from the terminal
/// (no TIOCSTI), which is why the signal has to be forwarded at all.
/// </remarks>
public sealed class SandboxLauncher(IFileSystem fileSystem)
{
    private readonly IFileSystem _fs = fileSystem;

    /// <summary>Resolves the command as the sandbox will see it, or throws the coded error for exit 126/127.</summary>
    public string ResolveCommand(SandboxPolicy policy, string command)
    {
        if (command.Contains('/', StringComparison.Ordinal))
        {
            var full = PathUtil.Normalize(command, policy.WorkingDirectory);
            if (!_fs.FileExists(full) && !_fs.DirectoryExists(full))
            {
                throw new SandboxException(Errors.Errors.CommandNotFound, command, "no such file");
            }

            if (!policy.IsVisible(full))
            {
                throw new SandboxException(Errors.Errors.CommandHidden, command, full, Path.GetDirectoryName(full));
            }

            return _fs.IsExecutableFile(full) ? full : throw new SandboxException(Errors.Errors.CommandNotExecutable, command);
        }

        var path = policy.GetEnvironmentValue("PATH") ?? "/usr/bin:/bin";
        string? hidden = null;
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = PathUtil.Normalize(Path.Combine(dir, command), policy.WorkingDirectory);
            if (_fs.IsExecutableFile(candidate))
            {
                if (policy.IsVisible(candidate))
                {
                    return command;
                }

                hidden ??= candidate;
            }
        }

        throw hidden is null
            ? new SandboxException(Errors.Errors.CommandNotFound, command, "not in any directory of the sandbox's PATH: " + path)
            : new SandboxException(Errors.Errors.CommandHidden, command, hidden, Path.GetDirectoryName(hidden));
    }

    /// <summary>Runs the command and waits for it.</summary>
    /// <param name="bwrap">The bubblewrap executable.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="command">The command and its arguments.</param>
    /// <param name="streams">Where the command's stdin, stdout and stderr go (inherited unless said otherwise).</param>
    /// <exception cref="SandboxException">The sandbox could not be started or set up.</exception>
    /// <param name="bridge">With network: how the bridge to the egress proxy gets in.</param>
    /// <param name="control">What stops the run from outside; <see cref="RunControl.None"/> when <see langword="null"/>.</param>
    public LaunchResult Run(string bwrap, SandboxPolicy policy, IReadOnlyList<string> command, CommandStreams streams = CommandStreams.Inherited, Network.BridgeMounts? bridge = null, RunControl? control = null)
    {
        // From here on: a stop while the sandbox is prepared abandons the run, after the cleanup below.
        using var signals = new SignalRelay(control ?? RunControl.None);
        return Run(bwrap, policy, command, streams, bridge, signals);
    }

    /// <summary>Runs the command with the stops relayed by <paramref name="signals"/>, which the caller took earlier (before starting the egress proxy).</summary>
    internal LaunchResult Run(string bwrap, SandboxPolicy policy, IReadOnlyList<string> command, CommandStreams streams, Network.BridgeMounts? bridge, SignalRelay signals)
    {
        var scope = Prepare(bwrap, policy, command, bridge);
        LaunchResult result;
        try
        {
            var (exitCode, elapsed) = BwrapSpawn.SpawnAndWait(scope, streams, signals);
            result = scope.Result(exitCode, elapsed, signals.StartupCause, signals.Escalated);
        }
        finally
        {
            scope.Dispose();
        }

        return scope.Gone.Count == 0 ? result : throw new SandboxException(Errors.Errors.WritableDirectoryRemoved, scope.Gone[0].Path, scope.Gone[0].What, result.ExitCode);
    }

    /// <summary>
    /// Everything before the spawn: the command resolved, output directories made, leftovers swept,
    /// the pids cgroup, the placeholders held, the mounts recorded and bubblewrap's argument vector;
    /// the scope undoes it all when disposed.
    /// </summary>
    internal LaunchScope Prepare(string bwrap, SandboxPolicy policy, IReadOnlyList<string> command, Network.BridgeMounts? bridge)
    {
        var resolved = ResolveCommand(policy, command[0]);
        var home = policy.GetEnvironmentValue("HOME") ?? "/nonexistent";
        foreach (var rule in policy.Paths.Where(r => r.Access == PathAccess.ReadWrite && r.CreateIfMissing && !_fs.DirectoryExists(r.Path)))
        {
            try
            {
                // Along the real location, with no link followed: the tree may be changing under a
                // concurrent sandbox, and a directory swapped for a link must not lead the creation elsewhere.
                NoFollowDirectory.Create(RealLocation(rule.Path, home));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new SandboxException(Errors.Errors.OutputDirectoryCreateFailed, rule.Path, ex.Message);
            }
        }

        // Concurrent runs share placeholders and clean up after killed ones: see PlaceholderLease, OwnedDirectory.
        var locks = LockDirectory.Ensure();
        CheckLocksNotWritable(policy, locks);
        var scope = new LaunchScope(bwrap, policy, Leftovers.Sweep(locks), BwrapCommandLine.RemoveIfCreated(policy, _fs), WritableRoots.Snapshot(policy, _fs, home));
        try
        {
            scope.Cgroup = CreateCgroup(policy.Bounds);
            scope.Lease = HoldPlaceholders(policy, home, locks);
            var mounts = MountCheck.Create();
            var bound = new List<string>();
            scope.Arguments = BwrapCommandLine.Build(policy, [resolved, .. command.Skip(1)], _fs, StatusFdPlaceholder, bridge, mounts.ReadyMarker, bound);
            scope.Mounts = mounts.Record(bound, home, _fs);
            scope.CommandDepth = bridge is null ? 1 : 2;
            return scope;
        }
        catch
        {
            scope.Dispose();
            throw;
        }
    }

    // The status descriptor's number is known only once the pipe exists; the argument vector is
    // built with this marker, which BwrapSpawn.SpawnAndWait replaces.
    private const int StatusFdPlaceholder = -1;

    /// <summary>The run's own pids cgroup, where the bounds say one can be made; <see langword="null"/> elsewhere.</summary>
    private static PidsCgroup? CreateCgroup(ResourceBounds bounds)
    {
        try
        {
            return bounds.PidsCgroupParent is { } parent ? PidsCgroup.Create(parent, bounds.MaxProcesses) : null;
        }
        catch (IOException ex)
        {
            throw new SandboxException(Errors.Errors.ProcessBoundFailed, bounds.MaxProcesses, ex.Message);
        }
    }

    /// <summary>Refuses a policy under which the sandbox could write the lock directory (SBX4011).</summary>
    private static void CheckLocksNotWritable(SandboxPolicy policy, string directory)
    {
        if (policy.Paths.FirstOrDefault(r => r.Access == PathAccess.ReadWrite && (PathUtil.IsSameOrUnder(r.Path, directory) || PathUtil.IsSameOrUnder(directory, r.Path))) is { } rule)
        {
            throw new SandboxException(Errors.Errors.LockDirectoryUnsafe, directory, $"the policy makes '{rule.Path}' writable inside the sandbox");
        }
    }

    // Created and removed through their real parent opened without following links: a sandbox
    // running meanwhile in the same tree may swap a parent for a link, and neither the creation nor
    // the removal may then land elsewhere. Shared with concurrent runs: see PlaceholderLease.
    private PlaceholderLease HoldPlaceholders(SandboxPolicy policy, string home, string locks)
    {
        try
        {
            return Leftovers.HoldPlaceholders(policy, _fs, path => RealLocation(path, home), locks, []);
        }
        catch (PlaceholderLease.Failure ex)
        {
            throw new SandboxException(Errors.Errors.PlaceholderFailed, ex.Real, ex.Message);
        }
        catch (IOException ex)
        {
            throw new SandboxException(Errors.Errors.PlaceholderFailed, string.Join(", ", Leftovers.Candidates(policy, _fs).Select(r => r.Path)), ex.Message);
        }
    }

    /// <summary>Where <paramref name="path"/> really is; an <see cref="IOException"/> when a link a sandbox could have planted is on the way.</summary>
    private string RealLocation(string path, string home)
    {
        var place = HostPath.Resolve(_fs, path, home);
        return place.IsUntrusted ? throw new IOException($"'{place.Link}' in the way is a symbolic link to '{place.Target}'") : place.Real;
    }
}
