using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Linux;

/// <summary>
/// What one prepared run holds on the host, from before bubblewrap starts until after it ended: the
/// pids cgroup, the placeholders' lease, the mounts recorded for the check, bubblewrap's argument
/// vector, and what the run must undo (protected names the command created, checked against the
/// writable directories as they were when the run began). Disposing it releases and undoes all of
/// it, once, whether the run happened or not.
/// </summary>
internal sealed class LaunchScope : ISpawnSite, IDisposable
{
    private readonly IReadOnlyList<PathRule> _removeIfCreated;
    private readonly WritableRoots _roots;
    private readonly List<Diagnostic> _warnings;
    private bool _disposed;

    public LaunchScope(string bwrap, SandboxPolicy policy, IEnumerable<Diagnostic> swept, IReadOnlyList<PathRule> removeIfCreated, WritableRoots roots)
    {
        Bwrap = bwrap;
        Policy = policy;
        _warnings = [.. swept];
        _removeIfCreated = removeIfCreated;
        _roots = roots;
        Tmpfs = new TmpfsWatch([.. policy.Paths.Where(r => r.Access == PathAccess.Scratch).Select(r => r.Path)]);
    }

    /// <summary>The bubblewrap executable.</summary>
    public string Bwrap { get; }

    /// <summary>The policy the run enforces.</summary>
    public SandboxPolicy Policy { get; }

    /// <summary>bubblewrap's arguments, with the status and block descriptors still to be filled in (see <see cref="BwrapCommandLine.BlockFdPlaceholder"/>).</summary>
    public IReadOnlyList<string> Arguments { get; set; } = [];

    /// <summary>What each bound path was on the host, for the check of the sandbox's mounts.</summary>
    public MountCheck? Mounts { get; set; }

    /// <summary>The sandbox's environment, as bubblewrap is started with it.</summary>
    public IEnumerable<string> Environment => Policy.Environment.Select(e => e.Name + "=" + e.Value);

    /// <summary>The run's pids cgroup, where one is made.</summary>
    public PidsCgroup? Cgroup { get; set; }

    /// <summary>The placeholders this run holds.</summary>
    public PlaceholderLease? Lease { get; set; }

    /// <summary>How far below the sandbox's init the command runs: 1, or 2 behind the network bridge.</summary>
    public int CommandDepth { get; set; } = 1;

    /// <summary>Watches the private tmpfs mounts for running full.</summary>
    public TmpfsWatch Tmpfs { get; }

    /// <summary>The writable directories that were removed or replaced during the run; known once disposed.</summary>
    public IReadOnlyList<(string Path, string What)> Gone { get; private set; } = [];

    /// <summary>
    /// Lets the sandbox whose init is <paramref name="init"/> go on, or not: its mounts are what was
    /// recorded, and the process bound holds for it (the cgroup joined, the limit set) before the init
    /// forks the command. <see langword="false"/> when bubblewrap failed or <paramref name="stop"/> says so first.
    /// </summary>
    /// <exception cref="SandboxException">The mounts are not what was recorded (SBX4009), or the bound cannot be set (SBX4007).</exception>
    public bool Admit(int init, Func<bool> stop)
    {
        if (Mounts is null || !Mounts.Verify(init, stop, TimeSpan.FromSeconds(30)))
        {
            return false;
        }

        // The init forks the command once it has the go-ahead: a limit set now, and a cgroup joined
        // now, hold for the command and everything it starts.
        if ((JoinCgroup(init) ?? ProcessLimit.TrySet(init, Policy.Bounds.MaxProcesses)) is { } error)
        {
            throw new SandboxException(Errors.Errors.ProcessBoundFailed, Policy.Bounds.MaxProcesses, error);
        }

        return true;
    }

    /// <summary>The command was let go: the tmpfs watch starts.</summary>
    public void Started(int init) => Tmpfs.Start(init);

    /// <summary>bubblewrap exited: the tmpfs watch stops.</summary>
    public void Ended() => Tmpfs.Stop();

    /// <summary>The run's outcome with what the scope and the stops had to say.</summary>
    /// <param name="exitCode">The command's status.</param>
    /// <param name="elapsed">The sandbox's wall time.</param>
    /// <param name="startupCause">What stopped the run before its command started (<see cref="SignalRelay.StartupCause"/>).</param>
    /// <param name="escalated">Whether a repeated stop killed the whole sandbox.</param>
    public LaunchResult Result(int exitCode, TimeSpan elapsed, string? startupCause, bool escalated)
    {
        foreach (var full in Tmpfs.Full)
        {
            _warnings.Add(Errors.Errors.PrivateTmpfsFull.With(full, ResourceBounds.FormatSize(Policy.Bounds.TmpfsBytes)));
        }

        if (startupCause is { } interrupted)
        {
            _warnings.Add(Errors.Errors.InterruptedBeforeStart.With(interrupted, exitCode));
        }
        else if (escalated)
        {
            _warnings.Add(Errors.Errors.SandboxKilledOnRepeat.With(exitCode));
        }

        // The list goes on growing as the scope is disposed: what it removes is reported too.
        return new LaunchResult(exitCode, elapsed, _warnings);
    }

    /// <summary>Releases the cgroup and the placeholders, and removes the protected names the command created.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Cgroup?.Dispose();
        Lease?.Dispose();

        // Nothing is done through a writable directory that was removed or replaced meanwhile.
        Gone = _roots.Changed();
        RemoveCreated([.. _removeIfCreated.Where(r => !WritableRoots.IsUnder(r.Path, Gone))]);
    }

    private string? JoinCgroup(int init)
    {
        try
        {
            Cgroup?.Join(init);
            return null;
        }
        catch (IOException ex)
        {
            return ex.Message;
        }
    }

    private void RemoveCreated(IReadOnlyList<PathRule> rules)
    {
        foreach (var rule in rules)
        {
            try
            {
                // These names are never held by placeholders (BwrapCommandLine.MayHoldPlaceholder leaves
                // them out), so no run's placeholder can be what is there.
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

                _warnings.Add(Errors.Errors.ProtectedPathCreated.With(rule.Path, rule.Reason()));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _warnings.Add(Errors.Errors.ProtectedPathCreated.With(rule.Path, rule.Reason()) with { Note = "could not remove it: " + ex.Message + "; delete it by hand" });
            }
        }
    }
}
