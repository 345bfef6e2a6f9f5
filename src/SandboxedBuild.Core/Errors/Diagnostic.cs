using System.Globalization;

namespace SandboxedBuild.Errors;

/// <summary>
/// One coded diagnostic as data: the catalog entry and the arguments of its message, so that a
/// host can log it with its own code and severity (an MSBuild warning, a JSON record) instead of
/// parsing the text. <see cref="ToString"/> is the text the CLI shows.
/// </summary>
/// <param name="Error">The catalog entry.</param>
/// <param name="Arguments">The arguments of its message and hint, in order.</param>
public sealed record Diagnostic(ErrorCode Error, IReadOnlyList<object?> Arguments)
{
    /// <summary>The stable code, <c>SBXnnnn</c>.</summary>
    public string Code => Error.Code;

    /// <summary>Error or warning.</summary>
    public Severity Severity => Error.Severity;

    /// <summary>What happened next, said after the message in parentheses (an operating system's error text, for one); none if null.</summary>
    public string? Note { get; init; }

    /// <summary>For a refused connection: the widening that would allow it, as data, for the host to word (<see cref="HostRemedy"/>); none if null.</summary>
    public HostRemedy? Remedy { get; init; }

    /// <summary>The message with its arguments (and the note), without code or hint.</summary>
    public string Message => string.Format(CultureInfo.InvariantCulture, Error.Message, [.. Arguments]) + (Note is null ? string.Empty : " (" + Note + ")");

    /// <summary>What the user can do about it, with its arguments.</summary>
    public string Hint => string.Format(CultureInfo.InvariantCulture, Error.Hint, [.. Arguments]);

    /// <summary>The text as the CLI shows it: <c>[warning ]SBXnnnn: message</c>, then <c>  hint: …</c> on a line of its own.</summary>
    public override string ToString() => $"{(Severity == Severity.Warning ? "warning " : string.Empty)}{Code}: {Message}{Environment.NewLine}  hint: {Hint}";
}
