namespace SandboxedBuild.Policy;

/// <summary>Small helpers for absolute Unix paths.</summary>
public static class PathUtil
{
    /// <summary>Makes <paramref name="path"/> absolute against <paramref name="baseDirectory"/> and removes <c>.</c>, <c>..</c> and trailing slashes.</summary>
    public static string Normalize(string path, string baseDirectory)
    {
        var full = Path.GetFullPath(path, baseDirectory);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="ancestor"/> or lies below it.</summary>
    public static bool IsSameOrUnder(string path, string ancestor)
    {
        if (ancestor == "/")
        {
            return path.StartsWith('/');
        }

        return path.Length == ancestor.Length
            ? string.Equals(path, ancestor, StringComparison.Ordinal)
            : path.Length > ancestor.Length && path.StartsWith(ancestor, StringComparison.Ordinal) && path[ancestor.Length] == '/';
    }

    /// <summary>How many components the path has (<c>/</c> has none).</summary>
    public static int Depth(string path) => path == "/" ? 0 : path.Count(c => c == '/');
}
