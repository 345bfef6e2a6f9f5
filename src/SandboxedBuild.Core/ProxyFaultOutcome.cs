using SandboxedBuild.Errors;

namespace SandboxedBuild;

/// <summary>How a fault of the egress proxy during a run shows in the run's result.</summary>
/// <remarks>
/// The command saw the fault as it happened (its connections closed at once); after it ends, the
/// run says what happened with the fault's code, and the exit status stays the command's own when
/// that is not 0. A command that exited 0 although its network went away under it ends the run with
/// the code's status (125), so that a pipeline does not take a run without its network for a pass;
/// the message names the command's status either way.
/// </remarks>
public static class ProxyFaultOutcome
{
    /// <summary><paramref name="result"/>, with the fault's coded message among the warnings and the exit status as described.</summary>
    public static RunResult Apply(RunResult result, (ErrorCode Code, string Reason)? fault)
    {
        if (fault is not { } f)
        {
            return result;
        }

        var status = result.ExitCode == 0 ? f.Code.ExitCode : result.ExitCode;
        return result with { ExitCode = status, Warnings = [.. result.Warnings, f.Code.With(f.Reason, result.ExitCode)] };
    }
}
