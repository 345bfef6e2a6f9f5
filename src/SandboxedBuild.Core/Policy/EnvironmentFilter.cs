using System.Text.RegularExpressions;

namespace SandboxedBuild.Policy;

/// <summary>
/// Decides which of the caller's environment variables reach the sandbox: an allow-list, never a
/// deny-list, and nothing whose name or value looks like a secret unless the user names it.
/// </summary>
public static partial class EnvironmentFilter
{
    private static readonly HashSet<string> AllowedNames = new(StringComparer.Ordinal)
    {
        "PATH", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "COLORTERM", "TZ",
        "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "COLUMNS", "LINES",

        // Markers that say "this is a CI build" or which environment an app runs in, and nothing
        // else: tools and tests read them (deterministic builds, test loggers, appsettings.{env}.json).
        "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "TRAVIS", "APPVEYOR",
        "TEAMCITY_VERSION", "CODEBUILD_BUILD_ID", "BITBUCKET_BUILD_NUMBER", "JENKINS_HOME",
        "ASPNETCORE_ENVIRONMENT",
    };

    // The caller's session, which means nothing inside (or the sandbox sets its own): left out without a word.
    private static readonly HashSet<string> SessionNames = new(StringComparer.Ordinal)
    {
        "HOME", "TMPDIR", "TMP", "TEMP", "PWD", "OLDPWD", "SHLVL", "_", "HOSTNAME", "HOSTTYPE", "OSTYPE", "MACHTYPE",
        "MAIL", "MAILCHECK", "MAILPATH", "LS_COLORS", "LSCOLORS", "LESS", "LESSOPEN", "LESSCLOSE", "PAGER", "MANPAGER",
        "EDITOR", "VISUAL", "MANPATH", "INFOPATH", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND", "DISPLAY",
        "WAYLAND_DISPLAY", "XAUTHORITY", "WINDOWID", "GPG_TTY", "GPG_AGENT_INFO", "DEBIAN_FRONTEND", "MOTD_SHOWN",
        "TMUX", "TMUX_PANE", "STY", "INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID", "SESSION_MANAGER",
        "DESKTOP_SESSION", "VTE_VERSION", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy",
        "https_proxy", "all_proxy", "no_proxy", "SUDO_USER", "SUDO_UID", "SUDO_GID", "SUDO_COMMAND",
    };

    private static readonly string[] SessionPrefixes = ["XDG_", "SSH_", "DBUS_", "HIST", "TERM_", "KONSOLE_", "GNOME_", "BASH_", "WSL"];

    private static readonly string[] AllowedPrefixes = ["LC_", "DOTNET_", "NUGET_", "MSBUILD"];

    // Fragments that mark a name as a likely secret. Matching is on the upper-cased name.
    private static readonly string[] SecretFragments =
    [
        "TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "API_KEY", "ACCESS_KEY", "PRIVATE",
        "CREDENTIAL", "CREDS", "AUTH", "SESSION", "COOKIE", "CONNECTIONSTRING", "CONNECTION_STRING",
        "BEARER", "JWT",
    ];

    private static readonly string[] SecretSuffixes = ["_KEY", "_PAT", "_SAS", "_PWD", "_PW", "_PASS"];

    // Whole words of a name (split at '_') that mark a secret wherever they stand: NUGET_PASS_FEED, MY_PW_X.
    private static readonly HashSet<string> SecretWords = new(StringComparer.Ordinal) { "PASS", "PW", "PWD", "PAT", "SAS", "CRED" };

    /// <summary>Whether the name of a variable suggests it holds a secret.</summary>
    public static bool LooksSecret(string name)
    {
        var upper = name.ToUpperInvariant();
        return SecretFragments.Any(f => upper.Contains(f, StringComparison.Ordinal))
            || SecretSuffixes.Any(s => upper.EndsWith(s, StringComparison.Ordinal))
            || upper.Split('_', StringSplitOptions.RemoveEmptyEntries).Any(SecretWords.Contains);
    }

    /// <summary>
    /// Whether a value looks like it carries a secret whatever its variable is called: a connection
    /// string with a password or key (<c>Password=</c>, <c>Pwd=</c>, <c>AccountKey=</c>,
    /// <c>SharedAccessKey=</c>, <c>SharedAccessSignature=</c>) or a URL with a password in it
    /// (<c>scheme://user:pass@host</c>).
    /// </summary>
    public static bool LooksSecretValue(string value) =>
        value.Length > 0 && (ConnectionStringSecret().IsMatch(value) || UrlWithPassword().IsMatch(value));

    /// <summary>Whether the variable passes by default judged by its name alone (allow-listed and not secret-looking).</summary>
    public static bool PassesByDefault(string name) =>
        (AllowedNames.Contains(name) || AllowedPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
        && !LooksSecret(name);

    /// <summary>Whether the variable passes by default: allow-listed, and neither its name nor its value looks secret.</summary>
    public static bool PassesByDefault(string name, string value) => PassesByDefault(name) && !LooksSecretValue(value);

    /// <summary>
    /// Whether a variable describes the caller's session (the shell, the terminal, the desktop, the
    /// login) or is one the sandbox sets itself: left out without being named in SBX3029.
    /// </summary>
    public static bool IsSessionVariable(string name) =>
        SessionNames.Contains(name) || SessionPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    /// <summary>Whether the name is a valid POSIX environment variable name.</summary>
    public static bool IsValidName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    [GeneratedRegex(@"(?:^|[;\s""'])\s*(?:password|pwd|accountkey|sharedaccesskey|sharedaccesssignature)\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ConnectionStringSecret();

    [GeneratedRegex(@"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#@\s]*:[^/?#@\s]*@", RegexOptions.CultureInvariant)]
    private static partial Regex UrlWithPassword();
}
