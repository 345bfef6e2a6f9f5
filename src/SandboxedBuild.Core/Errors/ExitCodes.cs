namespace SandboxedBuild.Errors;

/// <summary>
/// Exit statuses that belong to the sandbox rather than to the sandboxed command.
/// </summary>
/// <remarks>
/// Every other status (0–255) is the command's own, passed through unchanged; a command killed by
/// signal N exits with 128+N. The reserved values follow the convention of container runtimes
/// (docker, podman): 125 for a failure of the tool itself, 126 and 127 for a command that could not
/// be started. A sandbox failure is always accompanied by a coded <c>SBXnnnn</c> line on stderr, which
/// is how a caller tells it apart from a command that happens to exit with the same value.
/// </remarks>
public static class ExitCodes
{
    /// <summary>The command ran and exited successfully.</summary>
    public const int Success = 0;

    /// <summary>The sandbox could not run the command: bad usage, missing bubblewrap, a setup failure.</summary>
    public const int SandboxFailure = 125;

    /// <summary>The command was found but cannot be executed.</summary>
    public const int CommandNotExecutable = 126;

    /// <summary>The command was not found inside the sandbox.</summary>
    public const int CommandNotFound = 127;
}
