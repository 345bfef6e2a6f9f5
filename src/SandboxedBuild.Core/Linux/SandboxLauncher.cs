using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using SandboxedBuild.Errors;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Linux;

/// <summary>The outcome of a sandboxed run.</summary>
/// <param name="ExitCode">The command's exit status (128+N when a signal killed it).</param>
/// <param name="Elapsed">Wall time from spawning bubblewrap to its exit.</param>
/// <param name="Warnings">Coded warnings about what the sandbox had to undo after the run.</param>
public sealed record LaunchResult(int ExitCode, TimeSpan Elapsed, IReadOnlyList<string> Warnings);

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
    private static readonly int[] ForwardedSignals = [NativeMethods.SIGINT, NativeMethods.SIGTERM, NativeMethods.SIGHUP, NativeMethods.SIGQUIT];

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
    public LaunchResult Run(string bwrap, SandboxPolicy policy, IReadOnlyList<string> command, bool silent = false, Network.BridgeMounts? bridge = null)
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
        LockDirectory.CheckNotWritableBy(policy, locks);
        var warnings = new List<string>(Leftovers.Sweep(locks));
        var placeholders = BwrapCommandLine.Placeholders(policy, _fs);
        var removeIfCreated = BwrapCommandLine.RemoveIfCreated(policy, _fs);
        PlaceholderLease? lease = null;
        try
        {
            lease = HoldPlaceholders(policy, placeholders, home, locks);
            var mounts = MountCheck.Create();
            var bound = new List<string>();
            var args = BwrapCommandLine.Build(policy, [resolved, .. command.Skip(1)], _fs, StatusFdPlaceholder, bridge, mounts.ReadyMarker, bound);
            var (exitCode, elapsed) = SpawnAndWait(bwrap, args, policy, silent, mounts.Record(bound, home, _fs));
            return new LaunchResult(exitCode, elapsed, warnings);
        }
        finally
        {
            lease?.Dispose();
            RemoveCreated(removeIfCreated, warnings, locks, home);
        }
    }

    // The status descriptor's number is known only once the pipe exists; the argument vector is
    // built with this marker, which SpawnAndWait replaces.
    private const int StatusFdPlaceholder = -1;

    private static unsafe (int ExitCode, TimeSpan Elapsed) SpawnAndWait(string bwrap, IReadOnlyList<string> args, SandboxPolicy policy, bool silent, MountCheck mounts)
    {
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
        var argv = args.ToList();
        argv[argv.IndexOf("--json-status-fd") + 1] = writeFd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (argv.IndexOf(BwrapCommandLine.BlockFdPlaceholder) is var blockAt and >= 0)
        {
            argv[blockAt] = blockRead.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        int pid;
        try
        {
            pid = Spawn(bwrap, [bwrap, .. argv], policy.Environment.Select(e => e.Name + "=" + e.Value), silent, newProcessGroup: true);
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
        try
        {
            if (status.WaitForChildPid(TimeSpan.FromSeconds(30)) is { } init)
            {
                sandboxInit = init;
                if (mounts.Verify(init, () => status.Ended, TimeSpan.FromSeconds(30))
                    && ProcessLimit.TrySet(init, policy.Bounds.MaxProcesses) is { } error)
                {
                    // The init forks the command once it has the go-ahead: a limit set now is inherited.
                    throw new SandboxException(Errors.Errors.ProcessBoundFailed, policy.Bounds.MaxProcesses, error);
                }
            }
        }
        catch (SandboxException)
        {
            // The command has not started, and must not: the sandbox's init waits on the block
            // descriptor, and would go on at end of file. So it is killed first, bubblewrap after,
            // and the descriptor closed only once both are gone.
            if (sandboxInit is { } init)
            {
                _ = NativeMethods.kill(init, NativeMethods.SIGKILL);
            }

            _ = NativeMethods.kill(pid, NativeMethods.SIGKILL);
            _ = WaitForExit(pid);
            _ = NativeMethods.close(blockWrite);
            status.Complete();
            throw;
        }

        byte go = 1;
        _ = NativeMethods.write(blockWrite, &go, 1);
        _ = NativeMethods.close(blockWrite);
        var registrations = ForwardedSignals
            .Select(sig => PosixSignalRegistration.Create((PosixSignal)sig, ctx =>
            {
                ctx.Cancel = true;
                Forward(pid, status, sig);
            }))
            .ToList();

        int waitStatus;
        try
        {
            waitStatus = WaitForExit(pid);
        }
        finally
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }

            status.Complete();
        }

        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
        var bwrapStatus = DecodeWaitStatus(waitStatus);
        if (status.ChildPid is null)
        {
            // bubblewrap never started the command: its setup failed and it said why on stderr.
            throw Bubblewrap.DiagnoseSetupFailure(bwrap, bwrapStatus);
        }

        return (status.ExitCode ?? bwrapStatus, elapsed);
    }

    /// <summary>Starts <paramref name="file"/> with default signal dispositions, optionally in its own process group.</summary>
    internal static unsafe int Spawn(string file, IReadOnlyList<string> argv, IEnumerable<string> environment, bool silent, bool newProcessGroup = true)
    {
        var env = environment.ToList();
        var allocations = new List<nint>();
        byte* Utf8(string s)
        {
            var p = Marshal.StringToCoTaskMemUTF8(s);
            allocations.Add(p);
            return (byte*)p;
        }

        var argvPtr = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(nint));
        var envPtr = (byte**)NativeMemory.AllocZeroed((nuint)(env.Count + 1), (nuint)sizeof(nint));
        var attr = NativeMemory.AllocZeroed(NativeMethods.SpawnAttrSize);
        var defaults = NativeMemory.AllocZeroed(NativeMethods.SigSetSize);
        var mask = NativeMemory.AllocZeroed(NativeMethods.SigSetSize);
        var actions = silent ? NativeMemory.AllocZeroed(NativeMethods.FileActionsSize) : null;
        try
        {
            if (silent)
            {
                Check(NativeMethods.posix_spawn_file_actions_init(actions));
                var devNull = Utf8("/dev/null");
                for (var fd = 0; fd <= 2; fd++)
                {
                    Check(NativeMethods.posix_spawn_file_actions_addopen(actions, fd, devNull, NativeMethods.O_RDWR, 0));
                }
            }

            for (var i = 0; i < argv.Count; i++)
            {
                argvPtr[i] = Utf8(argv[i]);
            }

            for (var i = 0; i < env.Count; i++)
            {
                envPtr[i] = Utf8(env[i]);
            }

            // The runtime ignores SIGPIPE; an ignored disposition survives exec, so reset it (and the
            // job-control signals) to their defaults for the sandbox. No signal stays blocked.
            Check(NativeMethods.sigemptyset(defaults));
            foreach (var sig in new[] { NativeMethods.SIGPIPE, NativeMethods.SIGINT, NativeMethods.SIGQUIT, NativeMethods.SIGTERM, NativeMethods.SIGHUP, 20, 21, 22 })
            {
                Check(NativeMethods.sigaddset(defaults, sig));
            }

            Check(NativeMethods.sigemptyset(mask));
            Check(NativeMethods.posix_spawnattr_init(attr));
            var flags = NativeMethods.POSIX_SPAWN_SETSIGDEF | NativeMethods.POSIX_SPAWN_SETSIGMASK;
            Check(NativeMethods.posix_spawnattr_setflags(attr, (short)(newProcessGroup ? flags | NativeMethods.POSIX_SPAWN_SETPGROUP : flags)));
            Check(NativeMethods.posix_spawnattr_setpgroup(attr, 0));
            Check(NativeMethods.posix_spawnattr_setsigdefault(attr, defaults));
            Check(NativeMethods.posix_spawnattr_setsigmask(attr, mask));

            int pid;
            // A bare name is looked up on PATH (the bridge starts the user's command that way).
            var rc = file.Contains('/', StringComparison.Ordinal)
                ? NativeMethods.posix_spawn(&pid, argvPtr[0], actions, attr, argvPtr, envPtr)
                : NativeMethods.posix_spawnp(&pid, argvPtr[0], actions, attr, argvPtr, envPtr);
            _ = NativeMethods.posix_spawnattr_destroy(attr);
            if (silent)
            {
                _ = NativeMethods.posix_spawn_file_actions_destroy(actions);
            }

            return rc == 0 ? pid : throw new SandboxException(Errors.Errors.SpawnFailed, file, NativeMethods.StrError(rc));
        }
        finally
        {
            allocations.ForEach(Marshal.FreeCoTaskMem);
            NativeMemory.Free(argvPtr);
            NativeMemory.Free(envPtr);
            NativeMemory.Free(attr);
            NativeMemory.Free(defaults);
            NativeMemory.Free(mask);
            NativeMemory.Free(actions);
        }
    }

    private static void Check(int rc)
    {
        if (rc != 0)
        {
            throw new InvalidOperationException("posix_spawn attribute setup failed: " + NativeMethods.StrError(rc));
        }
    }

    internal static unsafe int WaitForExit(int pid)
    {
        int status;
        while (NativeMethods.waitpid(pid, &status, 0) < 0)
        {
            if (Marshal.GetLastPInvokeError() != NativeMethods.EINTR)
            {
                throw new InvalidOperationException("waitpid failed: " + NativeMethods.StrError(Marshal.GetLastPInvokeError()));
            }
        }

        return status;
    }

    /// <summary>Exit code for a normal exit, 128+N for death by signal N, as shells report it.</summary>
    internal static int DecodeWaitStatus(int status)
    {
        var signal = status & 0x7f;
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
    }

    private static void Forward(int bwrapPid, StatusReader status, int signal)
    {
        // bubblewrap's --new-session makes the sandbox's init lead a new session and process group,
        // which the command (and everything it starts) inherits. Signalling that group is what a
        // terminal does on Ctrl-C; the init itself ignores it (signals from outside a PID namespace
        // reach its init only through a handler, and it has none for these). A signal that arrives
        // while the sandbox is still starting waits (briefly) for the command to exist.
        var deadline = Environment.TickCount64 + 2000;
        do
        {
            if (status.WaitForChildPid(TimeSpan.FromMilliseconds(100)) is { } init && FindCommandPid(init) is not null
                && NativeMethods.kill(-init, signal) == 0)
            {
                return;
            }

            if (status.Ended)
            {
                break;
            }

            Thread.Sleep(10);
        }
        while (Environment.TickCount64 < deadline);

        // The command never started (or is gone): stop bubblewrap; --die-with-parent tears the rest down.
        _ = NativeMethods.kill(bwrapPid, signal);
    }

    private static int? FindCommandPid(int initPid)
    {
        // The children list of a process in another user namespace needs ptrace rights that an
        // unprivileged caller lacks; /proc/PID/stat (with the parent pid) is readable by anyone.
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 1 && fields[1] == initPid.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    return int.Parse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                // Not a process, or gone already.
            }
        }

        return null;
    }

    // Created and removed through their real parent opened without following links: a sandbox
    // running meanwhile in the same tree may swap a parent for a link, and neither the creation nor
    // the removal may then land elsewhere. Shared with concurrent runs: see PlaceholderLease.
    private PlaceholderLease HoldPlaceholders(SandboxPolicy policy, IReadOnlyList<PathRule> placeholders, string home, string locks)
    {
        try
        {
            return Leftovers.HoldPlaceholders(policy, placeholders, _fs, path => RealLocation(path, home), locks, []);
        }
        catch (IOException ex)
        {
            throw new SandboxException(Errors.Errors.PlaceholderFailed, placeholders.Count == 1 ? placeholders[0].Path : string.Join(", ", placeholders.Select(p => p.Path)), ex.Message);
        }
    }

    private void RemoveCreated(IReadOnlyList<PathRule> rules, List<string> warnings, string locks, string home)
    {
        foreach (var rule in rules)
        {
            try
            {
                // A placeholder a concurrent run made there is not something this command created.
                if (PlaceholderLease.IsPlaceholder(RealLocationOrSelf(rule.Path, home), locks))
                {
                    continue;
                }

                if (Directory.Exists(rule.Path))
                {
                    Directory.Delete(rule.Path, recursive: true);
                }
                else if (File.Exists(rule.Path) || new FileInfo(rule.Path).LinkTarget is not null)
                {
                    File.Delete(rule.Path);
                }
                else
                {
                    continue;
                }

                warnings.Add(Errors.Errors.ProtectedPathCreated.Format(rule.Path, rule.Reason));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                warnings.Add(Errors.Errors.ProtectedPathCreated.Format(rule.Path, rule.Reason) + " (could not remove it: " + ex.Message + "; delete it by hand)");
            }
        }
    }

    private string RealLocationOrSelf(string path, string home)
    {
        try
        {
            return RealLocation(path, home);
        }
        catch (IOException)
        {
            return path;
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
