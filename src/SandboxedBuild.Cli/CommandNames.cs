namespace SandboxedBuild.Cli;

/// <summary>
/// "Did you mean" for a mistyped command. System.CommandLine 3 no longer suggests corrections, so
/// this is the smallest replacement: the closest name by edit distance (a swap of two neighbouring
/// letters counts as one edit), if it is close enough to be a typo.
/// </summary>
internal static class CommandNames
{
    /// <summary>The name in <paramref name="names"/> closest to <paramref name="word"/>, or <see langword="null"/> when none is within two edits (one for short words).</summary>
    public static string? Nearest(string word, IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(word);
        var limit = word.Length <= 4 ? 1 : 2;
        return names
            .Select(n => (Name: n, Distance: Distance(word.ToLowerInvariant(), n)))
            .Where(c => c.Distance <= limit)
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => c.Name)
            .FirstOrDefault();
    }

    /// <summary>The optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    public static int Distance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
