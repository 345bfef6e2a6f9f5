namespace SandboxedBuild.Errors;

/// <summary>How serious a catalogued message is.</summary>
public enum Severity
{
    /// <summary>The operation stops.</summary>
    Error,

    /// <summary>The operation goes on; the user should know.</summary>
    Warning,
}

/// <summary>
/// One entry of the message catalog: a stable code, a message template and the fix.
/// </summary>
/// <param name="Code">The stable code, <c>SBX</c> followed by four digits. Never reused.</param>
/// <param name="Severity">Error or warning.</param>
/// <param name="Message">A composite format string; <c>{0}</c>… are filled in by <see cref="Format"/>.</param>
/// <param name="Hint">What the user can do about it; may use the same placeholders.</param>
/// <param name="ExitCode">The exit status the tool uses when this error ends the run.</param>
public sealed record ErrorCode(string Code, Severity Severity, string Message, string Hint, int ExitCode = ExitCodes.SandboxFailure)
{
    /// <summary>This entry with the arguments of its message, as data.</summary>
    public Diagnostic With(params object?[] args) => new(this, [.. args]);

    /// <summary>Renders the message as the user sees it: <c>SBX1234: message Hint: hint</c>.</summary>
    public string Format(params object?[] args) => With(args).ToString();
}
