using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using SandboxedBuild.Errors;
using SandboxedBuild.Policy;
using SandboxedBuild.Interop;

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
    /// <param name="silent">Connect the command's stdin, stdout and stderr to /dev/null instead of inheriting them.</param>
    /// <exception cref="SandboxException">The sandbox could not be started or set up.</exception>
    /// <param name="bridge">With network: how the bridge to the egress proxy gets in.</param>
    /// <param name="control">What stops the run from outside; <see cref="RunControl.None"/> when <see langword="null"/>.</param>
    public LaunchResult Run(string bwrap, SandboxPolicy policy, IReadOnlyList<string> command, bool silent = false, Network.BridgeMounts? bridge = null, RunControl? control = null)
    {
        // From here on: a stop while the sandbox is prepared abandons the run, after the cleanup below.
        using var signals = new SignalRelay(control ?? RunControl.None);
        return Run(bwrap, policy, command, silent, bridge, signals);
    }

    /// <summary>Runs the command with the stops relayed by <paramref name="signals"/>, which the caller took earlier (before starting the egress proxy).</summary>
    internal LaunchResult Run(string bwrap, SandboxPolicy policy, IReadOnlyList<string> command, bool silent, Network.BridgeMounts? bridge, SignalRelay signals)
    {
        var scope = Prepare(bwrap, policy, command, bridge);
        LaunchResult result;
        try
        {
            var (exitCode, elapsed) = SpawnAndWait(scope, silent, signals);
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
    // built with this marker, which SpawnAndWait replaces.
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

    /// <summary>Starts bubblewrap for <paramref name="site"/>, lets the sandbox go once the site admits it, and waits for its end.</summary>
    internal static unsafe (int ExitCode, TimeSpan Elapsed) SpawnAndWait(ISpawnSite site, bool silent, SignalRelay signals)
    {
        if (signals.StartupSignal is { } early)
        {
            return (SignalRelay.ExitStatusFor(early), TimeSpan.Zero);
        }

        var bwrap = site.Bwrap;
        int* fds = stackalloc int[4];
        if (NativeMethods.pipe(fds) != 0 || NativeMethods.pipe(fds + 2) != 0)
        {
            throw new SandboxException(Errors.Errors.SpawnFailed, bwrap, "pipe: " + NativeMethods.StrError(Marshal.GetLastPInvokeError()));
        }

        // Status: bubblewrap writes, this process reads. Block: bubblewrap waits on its end until
        // this process has checked the mounts and writes the go-ahead.
        int readFd = fds[0], writeFd = fds[1], blockRead = fds[2], blockWrite = fds[3];
        _ = NativeMethods.fcntl(readFd, NativeMethods.F_SETFD, NativeMethods.FD_CLOEXEC);
        _ = NativeMethods.fcntl(blockWrite, NativeMethods.F_SETFD, NativeMethods.FD_CLOEXEC);
        var argv = site.Arguments.ToList();
        argv[argv.IndexOf("--json-status-fd") + 1] = writeFd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (argv.IndexOf(BwrapCommandLine.BlockFdPlaceholder) is var blockAt and >= 0)
        {
            argv[blockAt] = blockRead.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        int pid;
        try
        {
            pid = ChildProcess.Spawn(bwrap, [bwrap, .. argv], site.Environment, silent, newProcessGroup: true);
        }
        catch
        {
            _ = NativeMethods.close(readFd);
            _ = NativeMethods.close(blockWrite);
            throw;
        }
        finally
        {
            _ = NativeMethods.close(writeFd);
            _ = NativeMethods.close(blockRead);
        }

        using var status = new StatusReader(readFd);
        int? sandboxInit = null;
        var verified = false;
        try
        {
            if (WaitForInit(status, signals, TimeSpan.FromSeconds(30)) is { } init)
            {
                sandboxInit = init;
                verified = site.Admit(init, () => status.Ended || signals.StartupSignal is not null);
            }
        }
        catch (SandboxException)
        {
            // The command has not started, and must not: the sandbox's init waits on the block
            // descriptor, and would go on at end of file. So it is killed first, bubblewrap after,
            // and the descriptor closed only once both are gone.
            _ = Abandon(pid, sandboxInit, blockWrite, status);
            throw;
        }

        if (!signals.TryStart(sandboxInit ?? 0, site.CommandDepth, () => status.Ended))
        {
            // A signal came before the command was let go: it never starts (the same teardown as above).
            _ = Abandon(pid, sandboxInit, blockWrite, status);
            return (SignalRelay.ExitStatusFor(signals.StartupSignal!.Value), System.Diagnostics.Stopwatch.GetElapsedTime(start));
        }

        if (!verified)
        {
            // bubblewrap failed before its mounts were in place (it said why on stderr), after
            // reporting the init or before: the command never starts, and its exit status (bubblewrap
            // reports 1 for its own failure) is not passed off as the command's.
            throw Bubblewrap.DiagnoseSetupFailure(bwrap, ChildProcess.DecodeWaitStatus(Abandon(pid, sandboxInit, blockWrite, status)));
        }

        byte go = 1;
        _ = NativeMethods.write(blockWrite, &go, 1);
        _ = NativeMethods.close(blockWrite);
        site.Started(sandboxInit ?? 0);

        int waitStatus;
        try
        {
            waitStatus = ChildProcess.WaitForExit(pid);
        }
        finally
        {
            site.Ended();
            signals.Stop();
            status.Complete();
        }

        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
        return (status.ExitCode ?? ChildProcess.DecodeWaitStatus(waitStatus), elapsed);
    }

    /// <summary>Refuses a policy under which the sandbox could write the lock directory (SBX4011).</summary>
    private static void CheckLocksNotWritable(SandboxPolicy policy, string directory)
    {
        if (policy.Paths.FirstOrDefault(r => r.Access == PathAccess.ReadWrite && (PathUtil.IsSameOrUnder(r.Path, directory) || PathUtil.IsSameOrUnder(directory, r.Path))) is { } rule)
        {
            throw new SandboxException(Errors.Errors.LockDirectoryUnsafe, directory, $"the policy makes '{rule.Path}' writable inside the sandbox");
        }
    }

    /// <summary>Waits for bubblewrap to report the sandbox's init; <see langword="null"/> when it exited first or a signal came.</summary>
    private static int? WaitForInit(StatusReader status, SignalRelay signals, TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (signals.StartupSignal is null && Environment.TickCount64 < deadline)
        {
            if (status.WaitForChildPid(TimeSpan.FromMilliseconds(50)) is { } init)
            {
                return init;
            }

            if (status.Ended)
            {
                return null;
            }
        }

        return status.ChildPid;
    }

    /// <summary>Stops a sandbox whose command has not been let go; it must never start.</summary>
    private static int Abandon(int bwrapPid, int? sandboxInit, int blockWrite, StatusReader status)
    {
        // The sandbox's init waits on the block descriptor, and would go on at end of file. So it is
        // killed first, bubblewrap after, and the descriptor closed only once both are gone.
        if (sandboxInit is { } init)
        {
            _ = NativeMethods.kill(init, NativeMethods.SIGKILL);
        }

        _ = NativeMethods.kill(bwrapPid, NativeMethods.SIGKILL);
        var waitStatus = ChildProcess.WaitForExit(bwrapPid);
        _ = NativeMethods.close(blockWrite);
        status.Complete();
        return waitStatus;
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

    /// <summary>Reads bubblewrap's <c>--json-status-fd</c> stream on a background thread.</summary>
    private sealed class StatusReader : IDisposable
    {
        private readonly Thread _thread;
        private readonly ManualResetEventSlim _started = new();
        private volatile int _childPid;
        private volatile bool _ended;
        private volatile int _exitCode = -1;

        public StatusReader(int fd)
        {
            var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
            _thread = new Thread(() => Read(handle)) { IsBackground = true, Name = "bwrap-status" };
            _thread.Start();
        }

        public int? ChildPid => _childPid > 0 ? _childPid : null;

        public int? ExitCode => _exitCode >= 0 ? _exitCode : null;

        /// <summary>Whether bubblewrap closed the stream (it has exited).</summary>
        public bool Ended => _ended;

        /// <summary>Waits until bubblewrap reported the sandbox's init, or the stream ended.</summary>
        public int? WaitForChildPid(TimeSpan timeout)
        {
            _started.Wait(timeout);
            return ChildPid;
        }

        public void Complete() => _thread.Join(TimeSpan.FromSeconds(5));

        public void Dispose() => _started.Dispose();

        private void Read(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
        {
            using var stream = new FileStream(handle, FileAccess.Read, 1);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (reader.ReadLine() is { } line)
            {
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    if (doc.RootElement.TryGetProperty("child-pid", out var pid))
                    {
                        _childPid = pid.GetInt32();
                        _started.Set();
                    }

                    if (doc.RootElement.TryGetProperty("exit-code", out var code))
                    {
                        _exitCode = code.GetInt32();
                    }
                }
                catch (JsonException)
                {
                    // Not ours to interpret; bubblewrap writes one object per line.
                }
            }

            _ended = true;
            _started.Set();
        }
    }
}
