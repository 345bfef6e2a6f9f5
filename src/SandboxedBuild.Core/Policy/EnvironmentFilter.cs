namespace SandboxedBuild.Policy;

/// <summary>
/// Decides which of the caller's environment variables reach the sandbox: an allow-list, never a
/// deny-list, and nothing whose name looks like a secret unless the user names it.
/// </summary>
public static class EnvironmentFilter
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
        "CREDENTIAL", "AUTH", "SESSION", "COOKIE", "CONNECTIONSTRING", "CONNECTION_STRING",
    ];

    private static readonly string[] SecretSuffixes = ["_KEY", "_PAT", "_SAS", "_PWD"];

    /// <summary>Whether the name of a variable suggests it holds a secret.</summary>
    public static bool LooksSecret(string name)
    {
        var upper = name.ToUpperInvariant();
        return SecretFragments.Any(f => upper.Contains(f, StringComparison.Ordinal))
            || SecretSuffixes.Any(s => upper.EndsWith(s, StringComparison.Ordinal));
    }

    /// <summary>Whether the variable passes by default (allow-listed and not secret-looking).</summary>
    public static bool PassesByDefault(string name) =>
        (AllowedNames.Contains(name) || AllowedPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
        && !LooksSecret(name);

    /// <summary>Whether the name is a valid POSIX environment variable name.</summary>
    public static bool IsValidName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
