using System.Globalization;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;

namespace SandboxedBuild.Policy;

/// <summary>
/// The one place where the values a host was given (the CLI's options, a task's parameters) are
/// checked, before anything is evaluated, restored, built or run: each bad value is answered by a
/// coded error that names the setting in the host's words, shows the value escaped, and says what to
/// give instead.
/// </summary>
/// <remarks>
/// <para>
/// Empty and all-white-space values are refused (SBX1014): they come from unset shell variables,
/// and <see cref="PathUtil.Normalize"/> would silently turn an empty path into the working directory.
/// </para>
/// <para>
/// A path holding a control character (SBX1015) is refused: bubblewrap itself would bind it, but the
/// policy listing, the bubblewrap command line the tool prints and the kernel's mount table
/// (which escapes it) would then show something other than what is bound. A path with
/// U+FFFD (SBX1017) is what .NET makes of bytes that are not UTF-8: it cannot name the file.
/// A path starting with a literal <c>~</c> (SBX1016) is refused in both forms, <c>~/dir</c> and
/// <c>~user/dir</c>: a shell expands an unquoted one, so a literal one was quoted on purpose or by
/// mistake, and guessing would be wrong for one of the two. Spaces, quotes and other printable
/// characters are kept as they are.
/// </para>
/// </remarks>
public static class InputCheck
{
    /// <summary>Refuses an empty or all-white-space <paramref name="value"/> of <paramref name="option"/>.</summary>
    /// <param name="option">The setting in the host's words (the CLI: <c>--allow-read</c>, <c>PROJECT</c>).</param>
    /// <param name="value">The value given.</param>
    /// <param name="expected">What the option takes, for the message (<c>a path</c>).</param>
    /// <exception cref="SandboxException">SBX1014.</exception>
    public static void RequireValue(string option, string? value, string expected)
    {
        if (value is not null && string.IsNullOrWhiteSpace(value))
        {
            throw new SandboxException(Errors.Errors.EmptyOptionValue, option, TerminalText.Name(value), expected);
        }
    }

    /// <summary>Checks a path given to <paramref name="option"/>; <see langword="null"/> (not given) passes.</summary>
    /// <exception cref="SandboxException">SBX1014, SBX1015, SBX1016 or SBX1017.</exception>
    public static void RequirePath(string option, string? value)
    {
        if (value is null)
        {
            return;
        }

        RequireValue(option, value, "a path");
        RequireNameablePath(option, value);
        if (value[0] == '~')
        {
            throw new SandboxException(Errors.Errors.TildeNotExpanded, option, TerminalText.Name(value));
        }
    }

    /// <summary>
    /// Refuses a path the tool cannot show or name exactly: one with a control character, or one
    /// that was not valid UTF-8. Also for paths that were not typed, such as the working directory.
    /// </summary>
    /// <exception cref="SandboxException">SBX1015 or SBX1017.</exception>
    public static void RequireNameablePath(string what, string path)
    {
        foreach (var c in path)
        {
            if (char.IsControl(c))
            {
                throw new SandboxException(Errors.Errors.PathHasControlCharacter, what, TerminalText.Name(path), Describe(c));
            }
        }

        if (path.Contains('\uFFFD', StringComparison.Ordinal))
        {
            throw new SandboxException(Errors.Errors.PathNotUtf8, what, TerminalText.Name(path));
        }
    }

    /// <summary>
    /// Checks the command to run (the first word after <c>--</c>): it must name something, and be
    /// a name the tool can pass on exactly. Its arguments are passed as they are.
    /// </summary>
    /// <exception cref="SandboxException">SBX1014, SBX1015 or SBX1017.</exception>
    public static void RequireCommand(string command)
    {
        RequireValue("the command", command, "a command name or path");
        RequireNameablePath("the command", command);
    }

    /// <summary>
    /// Refuses an argument that was not valid UTF-8 (SBX1019): .NET has already replaced its bytes by
    /// U+FFFD, and passing that on would hand the command something other than what was typed.
    /// Control characters, spaces and quotes are passed as they are: an argument is no path the
    /// policy shows. An argument that really contains U+FFFD is refused too.
    /// </summary>
    /// <param name="arguments">The arguments, without the command itself.</param>
    /// <param name="receiver">What receives them, for the message ("the command", "'dotnet test'").</param>
    /// <exception cref="SandboxException">SBX1019.</exception>
    public static void RequireArguments(IReadOnlyList<string> arguments, string receiver)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i].Contains('\uFFFD', StringComparison.Ordinal))
            {
                throw new SandboxException(Errors.Errors.ArgumentNotUtf8, (i + 1).ToString(CultureInfo.InvariantCulture), receiver, TerminalText.Name(arguments[i]));
            }
        }
    }

    /// <summary>
    /// Checks every value of <paramref name="options"/> the host was given: paths, variable names
    /// and assignments, host patterns and presets, so that a typo stops the run before any project
    /// is evaluated. Each setting is named in <see cref="ExecOptions.Wording"/>'s words.
    /// </summary>
    /// <exception cref="SandboxException">The first bad value.</exception>
    public static void Check(ExecOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var words = options.Wording ?? RemedyWording.Neutral;
        foreach (var path in options.AllowRead)
        {
            RequirePath(words.Setting(Origin.Settings.AllowRead), path);
        }

        foreach (var path in options.AllowWrite)
        {
            RequirePath(words.Setting(Origin.Settings.AllowWrite), path);
        }

        foreach (var output in options.CommandOutputs)
        {
            RequirePath(words.Setting(output.Setting), output.Path);
        }

        foreach (var name in options.PassVariables)
        {
            RequireValue(words.Setting(Origin.Settings.Env), name, "a variable name");
            if (!EnvironmentFilter.IsValidName(name))
            {
                throw new SandboxException(Errors.Errors.InvalidVariableName, TerminalText.Name(name));
            }
        }

        foreach (var assignment in options.SetVariables)
        {
            RequireValue(words.Setting(Origin.Settings.SetEnv), assignment, "NAME=VALUE");
            var eq = assignment.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                throw new SandboxException(Errors.Errors.InvalidOptionValue, words.Setting(Origin.Settings.SetEnv), TerminalText.Name(assignment), "expected NAME=VALUE (VALUE may be empty: NAME=).");
            }

            if (!EnvironmentFilter.IsValidName(assignment[..eq]))
            {
                throw new SandboxException(Errors.Errors.InvalidVariableName, TerminalText.Name(assignment[..eq]));
            }
        }

        foreach (var host in options.AllowHosts)
        {
            RequireHost(words.Setting(Origin.Settings.AllowHost), host);
        }

        foreach (var host in options.DenyHosts)
        {
            RequireHost(words.Setting(Origin.Settings.DenyHost), host);
        }

        foreach (var name in options.Presets)
        {
            RequireValue(words.Setting(Origin.Settings.Preset), name, "a preset name (" + string.Join(", ", Presets.Names) + ")");
            _ = Presets.Get(name) ?? throw new SandboxException(Errors.Errors.UnknownPreset, TerminalText.Name(name), string.Join(", ", Presets.Names));
        }
    }

    /// <summary>
    /// A host pattern exactly as typed: white space or a control byte around it (<c>$'api.nuget.org\n'</c>
    /// from a script) is refused rather than trimmed away, so what is allowed is what was asked for.
    /// </summary>
    private static void RequireHost(string option, string host)
    {
        RequireValue(option, host, "a host pattern (HOST[:PORT])");
        if (host != host.Trim() || host.Any(char.IsControl))
        {
            throw new SandboxException(Errors.Errors.InvalidHostPattern, option, TerminalText.Name(host));
        }

        _ = HostRule.Parse(host, option, string.Empty);
    }

    /// <summary>
    /// Refuses a project or solution, located from the command line, whose path goes through a
    /// symbolic link in a directory a sandboxed run could have written (see <see cref="HostPath"/>):
    /// its real location is named instead of being evaluated, restored and built.
    /// </summary>
    /// <exception cref="SandboxException">SBX1015 or SBX1017 for a path the tool cannot name; SBX1018 for a link.</exception>
    public static void RequireProjectWithoutLink(HostFacts host, string entry, string verb)
    {
        ArgumentNullException.ThrowIfNull(host);
        RequireNameablePath("the project", entry);
        if (HostPath.Resolve(host.FileSystem, entry, host.HomeDirectory) is { IsUntrusted: true } resolved)
        {
            throw new SandboxException(Errors.Errors.ProjectPathThroughLink,
                TerminalText.Name(entry), TerminalText.Name(resolved.Link ?? entry), TerminalText.Name(resolved.Target ?? "?"),
                TerminalText.Name(resolved.Real), verb);
        }
    }

    /// <summary>Names a control character for the message: its code point, and what it is when it has a common name.</summary>
    internal static string Describe(char c)
    {
        var code = ((int)c).ToString("X4", CultureInfo.InvariantCulture);
        return c switch
        {
            '\n' => $"U+{code}, a newline",
            '\r' => $"U+{code}, a carriage return",
            '\t' => $"U+{code}, a tab",
            '\x1b' => $"U+{code}, an escape",
            _ => $"U+{code}",
        };
    }
}
