using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;

namespace SandboxedBuild;

/// <summary>
/// A run prepared for a host that starts the sandbox itself (<see cref="SandboxRunner.Prepare"/>):
/// what to start, and the scope that holds what the run needs on the host (the egress proxy, the
/// placeholders, output directories, the process bound) until it is disposed.
/// </summary>
/// <remarks>
/// <para>
/// The host starts <see cref="Executable"/> with <see cref="Arguments"/> and no other argument, with
/// its own standard streams, environment and process API (an MSBuild <c>ToolTask</c>,
/// <c>System.Diagnostics.Process</c>, a terminal): the sandbox's environment is the policy's,
/// whatever the process's own is. That process is dotnet-sandbox-bridge's supervisor. It starts
/// bubblewrap, and the command is let go only once this scope, in the host's process, has checked
/// the sandbox's mounts and set its process bound. It relays SIGINT, SIGTERM, SIGHUP and SIGQUIT it
/// is sent to the command's process group as a terminal would (the same signal again kills the whole
/// sandbox), and exits with the command's status.
/// </para>
/// <para>
/// Its exit status alone is never taken for the command's: <see cref="Complete"/> takes the
/// supervisor's report from a channel of its own, and a failure of bubblewrap or of the bridge, a
/// refusal of the sandbox, or a process that was not the supervisor, is a coded
/// <see cref="SandboxException"/>. Disposing before the process ended kills the sandbox first.
/// </para>
/// </remarks>
public sealed class PreparedSandbox : IDisposable
{
    private readonly SupervisorHost _supervisor;
    private readonly LaunchScope _scope;
    private readonly EgressProxy? _proxy;
    private readonly IReadOnlyList<OwnedDirectory> _directories;
    private bool _disposed;

    internal PreparedSandbox(string executable, IReadOnlyList<string> arguments, SupervisorHost supervisor, LaunchScope scope, EgressProxy? proxy, IReadOnlyList<OwnedDirectory> directories)
    {
        Executable = executable;
        Arguments = arguments;
        _supervisor = supervisor;
        _scope = scope;
        _proxy = proxy;
        _directories = directories;
    }

    /// <summary>The program to start: the native dotnet-sandbox-bridge, or the dotnet host for its assembly.</summary>
    public string Executable { get; }

    /// <summary>Its arguments, exactly.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>
    /// The run's outcome, once the process the host started has exited; everything the run held is
    /// released. Call it once.
    /// </summary>
    /// <param name="exitStatus">That process's exit status, as the host saw it.</param>
    /// <exception cref="SandboxException">
    /// The sandbox failed (bubblewrap's or the bridge's failure, a refused mount check or bound), or the
    /// process was not the supervisor or died before its report (SBX4020).
    /// </exception>
    public RunResult Complete(int exitStatus)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_supervisor.WaitForEnd(TimeSpan.FromSeconds(10)))
        {
            Dispose();
            throw new SandboxException(Errors.Errors.SupervisorSilent, exitStatus, "its channel is still open although the host says it exited");
        }

        var exit = _supervisor.Exit;
        var failure = _supervisor.Failure;
        var silence = _supervisor.Silence;
        var result = exit is { } e ? _scope.Result(e.ExitCode, e.Elapsed, e.StartupCause, e.Escalated) : null;
        Dispose();
        if (failure is not null)
        {
            throw failure;
        }

        if (result is null)
        {
            throw new SandboxException(Errors.Errors.SupervisorSilent, exitStatus, silence);
        }

        if (_scope.Gone.Count > 0)
        {
            throw new SandboxException(Errors.Errors.WritableDirectoryRemoved, _scope.Gone[0].Path, _scope.Gone[0].What, result.ExitCode);
        }

        return SandboxRunner.Outcome(result, _proxy, stoppedBeforeStart: exit!.Value.StartupCause is not null);
    }

    /// <summary>Releases what the run held; a sandbox still running is killed first.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _supervisor.Dispose();
        _scope.Dispose();
        _proxy?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        foreach (var directory in _directories)
        {
            directory.Dispose();
        }
    }
}
