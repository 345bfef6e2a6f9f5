using System.Globalization;
using System.Text.RegularExpressions;

namespace SandboxedBuild.Errors;

/// <summary>
/// One coded diagnostic as data: the catalog entry and the arguments of its message, so that a
/// host can log it with its own code and severity (an MSBuild warning, a JSON record) instead of
/// parsing the text. <see cref="ToString()"/> is the text the CLI shows.
/// </summary>
/// <remarks>
/// A catalog text names a setting of the sandbox (what the CLI calls <c>--allow-read</c>, a task
/// <c>SandboxReadablePath</c>) as <c>{setting:allow-read}</c>, never in one host's words: the host
/// that renders the text fills it in (<see cref="ToString(Func{string, string})"/>;
/// <c>IRemedyWording.Text</c>). <see cref="Message"/>, <see cref="Hint"/> and
/// <see cref="ToString()"/> say "the setting 'allow-read'".
/// </remarks>
/// <param name="Error">The catalog entry.</param>
/// <param name="Arguments">The arguments of its message and hint, in order.</param>
public sealed partial record Diagnostic(ErrorCode Error, IReadOnlyList<object?> Arguments)
{
    /// <summary>The stable code, <c>SBXnnnn</c>.</summary>
    public string Code => Error.Code;

    /// <summary>Error or warning.</summary>
    public Severity Severity => Error.Severity;

    /// <summary>What happened next, said after the message in parentheses (an operating system's error text, for one); none if null.</summary>
    public string? Note { get; init; }

    /// <summary>For a refused connection: the widening that would allow it, as data, for the host to word (<see cref="HostRemedy"/>); none if null.</summary>
    public HostRemedy? Remedy { get; init; }

    /// <summary>The message with its arguments (and the note), without code or hint; a setting said neutrally.</summary>
    public string Message => FormatMessage(NeutralSetting);

    /// <summary>What the user can do about it, with its arguments; a setting said neutrally.</summary>
    public string Hint => FormatHint(NeutralSetting);

    /// <summary>The message with its arguments (and the note), each <c>{setting:NAME}</c> said by <paramref name="setting"/>.</summary>
    public string FormatMessage(Func<string, string> setting) =>
        Render(Error.Message, setting) + (Note is null ? string.Empty : " (" + Note + ")");

    /// <summary>The hint with its arguments, each <c>{setting:NAME}</c> said by <paramref name="setting"/>.</summary>
    public string FormatHint(Func<string, string> setting) => Render(Error.Hint, setting);

    /// <summary>The text as the CLI shows it: <c>[warning ]SBXnnnn: message</c>, then <c>  hint: …</c> on a line of its own.</summary>
    public override string ToString() => ToString(NeutralSetting);

    /// <summary>The text as <see cref="ToString()"/> lays it out, each <c>{setting:NAME}</c> said by <paramref name="setting"/> (the host's name of the setting).</summary>
    public string ToString(Func<string, string> setting) =>
        $"{(Severity == Severity.Warning ? "warning " : string.Empty)}{Code}: {FormatMessage(setting)}{Environment.NewLine}  hint: {FormatHint(setting)}";

    /// <summary>How a setting is named by a host that has said nothing.</summary>
    internal static string NeutralSetting(string setting) => $"the setting '{setting}'";

    private string Render(string template, Func<string, string> setting)
    {
        ArgumentNullException.ThrowIfNull(setting);

        // The host's word is text, not a format: its braces are doubled before the arguments go in.
        var worded = SettingToken().Replace(template, m => setting(m.Groups[1].Value).Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal));
        return string.Format(CultureInfo.InvariantCulture, worded, [.. Arguments]);
    }

    [GeneratedRegex(@"\{setting:([a-z][a-z-]*)\}")]
    private static partial Regex SettingToken();
}
