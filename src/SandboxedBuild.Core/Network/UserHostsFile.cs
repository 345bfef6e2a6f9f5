namespace SandboxedBuild.Network;

/// <summary>
/// Hosts the user allowed for good at a prompt, one <c>host[:port]</c> per line, in the user's
/// configuration directory, outside any project and outside every sandbox (the home directory is
/// private inside), so a sandboxed command cannot add to it.
/// </summary>
public static class UserHostsFile
{
    /// <summary>The file's path: <c>$XDG_CONFIG_HOME/dotnet-sandbox/allowed-hosts</c>, by default under <c>~/.config</c>.</summary>
    public static string PathFor(IReadOnlyDictionary<string, string> variables, string home)
    {
        var config = variables.TryGetValue("XDG_CONFIG_HOME", out var x) && x.StartsWith('/') ? x : System.IO.Path.Combine(home, ".config");
        return System.IO.Path.Combine(config, "dotnet-sandbox", "allowed-hosts");
    }

    /// <summary>Reads the saved hosts; lines that do not parse are skipped.</summary>
    public static IReadOnlyList<HostRule> Load(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        var rules = new List<HostRule>();
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Split('#', 2)[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                rules.Add(HostRule.Parse(line, "allowed-hosts", $"allowed always at a prompt (saved in {path})", new Origin(OriginKind.SavedHost, File: path)));
            }
            catch (Errors.SandboxException)
            {
                // A hand-edited line that is not a host pattern: ignored rather than fatal.
            }
        }

        return rules;
    }

    /// <summary>
    /// Adds <paramref name="rule"/> to the file: under its lock, to the file as it is now (what
    /// concurrent runs added is kept), replaced atomically; a host already listed is not added twice.
    /// </summary>
    public static void Append(string path, HostRule rule)
    {
        using var fileLock = Interop.UserFileLock.Acquire(path);
        var text = File.Exists(path) ? File.ReadAllText(path) : string.Empty;
        if (text.Split('\n').Any(line => line.Split('#', 2)[0].Trim() == rule.ToString()))
        {
            return;
        }

        if (text.Length > 0 && !text.EndsWith('\n'))
        {
            text += Environment.NewLine;
        }

        Interop.UserFileLock.WriteAtomically(path, System.Text.Encoding.UTF8.GetBytes(text + $"{rule}  # allowed always at a prompt on {DateTime.UtcNow:yyyy-MM-dd}{Environment.NewLine}"));
    }
}
