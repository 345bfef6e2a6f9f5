namespace SandboxedBuild.Errors;

/// <summary>
/// An expected failure of the sandbox itself, carrying a catalogued code. Anything else that is
/// thrown is a bug and propagates with its stack trace.
/// </summary>
public sealed class SandboxException : Exception
{
    /// <summary>Creates the exception for <paramref name="error"/> with its message arguments.</summary>
    public SandboxException(ErrorCode error, params object?[] args)
        : base(error.Format(args))
    {
        Error = error;
        Diagnostic = new Diagnostic(error, [.. args]);
    }

    /// <summary>The failure as data: the catalog entry and its arguments.</summary>
    public Diagnostic Diagnostic { get; }

    /// <summary>The catalog entry.</summary>
    public ErrorCode Error { get; }

    /// <summary>The exit status the tool should end with.</summary>
    public int ExitCode => Error.ExitCode;
}
