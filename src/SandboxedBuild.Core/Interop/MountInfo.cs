namespace SandboxedBuild.Interop;

/// <summary>The fields of <c>/proc/*/mountinfo</c>, read by the mount check and by the search for a pids cgroup.</summary>
internal static class MountInfo
{
    /// <summary>A <c>mountinfo</c> field with its octal escapes (space, tab, newline, backslash as <c>\NNN</c>) undone.</summary>
    internal static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var result = new System.Text.StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && field.AsSpan(i + 1, 3).ToArray().All(c => c is >= '0' and <= '7'))
            {
                result.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                result.Append(field[i]);
            }
        }

        return result.ToString();
    }
}
