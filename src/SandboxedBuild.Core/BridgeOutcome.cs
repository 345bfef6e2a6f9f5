using SandboxedBuild.Errors;
using SandboxedBuild.Network;

namespace SandboxedBuild;

/// <summary>How the bridge's messages to the proxy show in a networked run's result.</summary>
/// <remarks>
/// The bridge says it is ready before it starts the command (see <see cref="Bridge"/>). A run whose
/// bridge never said so, or said it failed, did not run the command as the sandbox meant to: the
/// result is SBX6011 with status 125, whatever bubblewrap's status was, so that a program that is not
/// the bridge (or one that died) is never taken for the command's own status. Only the command can
/// forge a message, and only after the bridge said ready: a forged "ready" changes nothing, and a
/// forged failure fails its own run.
/// </remarks>
public static class BridgeOutcome
{
    /// <summary>What the result says when the bridge never said ready and gave no reason.</summary>
    internal const string NeverReady = "it never said it was ready (the bridge executable is not dotnet-sandbox-bridge, or it ended before it listened)";

    /// <summary><paramref name="result"/>, or SBX6011 with status 125 when the bridge failed.</summary>
    /// <param name="result">The run's result as bubblewrap ended it.</param>
    /// <param name="ready">Whether the bridge said it was ready.</param>
    /// <param name="failure">The reason the bridge (or something posing as it) gave for failing, if any.</param>
    public static RunResult Apply(RunResult result, bool ready, string? failure)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (ready && failure is null)
        {
            return result;
        }

        var reason = failure ?? NeverReady;
        var code = Errors.Errors.BridgeDidNotStart;
        return result with { ExitCode = code.ExitCode, Warnings = [.. result.Warnings, code.With(reason, result.ExitCode)] };
    }
}
