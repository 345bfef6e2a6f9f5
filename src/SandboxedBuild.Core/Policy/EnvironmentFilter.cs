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
        "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "COLUMNS", "LINES", "CI",
    };

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

    /// <summary>Whether the name is a valid POSIX environment variable name.</summary>
    public static bool IsValidName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    [GeneratedRegex(@"(?:^|[;\s""'])\s*(?:password|pwd|accountkey|sharedaccesskey|sharedaccesssignature)\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ConnectionStringSecret();

    [GeneratedRegex(@"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#@\s]*:[^/?#@\s]*@", RegexOptions.CultureInvariant)]
    private static partial Regex UrlWithPassword();
}
