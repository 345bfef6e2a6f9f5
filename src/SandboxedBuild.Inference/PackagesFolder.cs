using SandboxedBuild.Linux;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Inference;

/// <summary>
/// What the restore step may trust in a NuGet packages folder: its entries are written by sandboxed
/// restores, so they are looked at without following links before any of them becomes a mount.
/// </summary>
public static class PackagesFolder
{
    /// <summary>The package versions (<c>id/version</c>) that are real directories owned by the caller, to bind read-only over themselves.</summary>
    /// <param name="folder">The packages folder.</param>
    /// <param name="refused">Receives each entry that is not bound, with why (a link, not a directory, another owner).</param>
    public static IReadOnlyList<string> ExistingPackages(string folder, ICollection<(string Path, string Why)> refused)
    {
        var result = new List<string>();
        if (!IsOwnDirectory(folder, out _))
        {
            return result;
        }

        foreach (var id in Entries(folder))
        {
            if (!IsOwnDirectory(id, out var why))
            {
                Refuse(id, why, refused);
                continue;
            }

            foreach (var version in Entries(id))
            {
                if (!IsOwnDirectory(version, out why))
                {
                    Refuse(version, why, refused);
                }
                else
                {
                    result.Add(version);
                }
            }
        }

        result.Sort(StringComparer.Ordinal);
        return result;
    }

    /// <summary>The symbolic links at the package levels (<c>id</c> and <c>id/version</c>), to tell later which ones a restore added.</summary>
    public static IReadOnlySet<string> Links(string folder)
    {
        var links = new HashSet<string>(StringComparer.Ordinal);
        if (!IsOwnDirectory(folder, out _))
        {
            return links;
        }

        foreach (var id in Entries(folder))
        {
            if (IsLink(id))
            {
                links.Add(id);
            }
            else if (IsOwnDirectory(id, out _))
            {
                links.UnionWith(Entries(id).Where(IsLink));
            }
        }

        return links;
    }

    /// <summary>
    /// Removes the links at the package levels that were not there before a restore: a restore never
    /// creates one, and an unsandboxed build would take one as a package. Returns what it removed.
    /// </summary>
    public static IReadOnlyList<string> RemoveAddedLinks(string folder, IReadOnlySet<string> before)
    {
        var removed = new List<string>();
        foreach (var link in Links(folder).Where(l => !before.Contains(l)).Order(StringComparer.Ordinal))
        {
            try
            {
                // File.Delete unlinks the link itself, never its target.
                File.Delete(link);
                removed.Add(link);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Still never bound (ExistingPackages refuses it); the warning below names it.
                removed.Add(link + " (could not be removed: " + ex.Message + ")");
            }
        }

        return removed;
    }

    private static void Refuse(string path, string why, ICollection<(string Path, string Why)> refused)
    {
        if (!Path.GetFileName(path).StartsWith('.'))
        {
            refused.Add((path, why));
        }
    }

    private static List<string> Entries(string directory)
    {
        try
        {
            // Names only: enumerating directories would follow links to decide what is a directory.
            return Directory.EnumerateFileSystemEntries(directory).Where(e => !Path.GetFileName(e).StartsWith('.')).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static bool IsLink(string path) => NativeMethods.Lstat(path) is { Type: NativeMethods.S_IFLNK };

    private static bool IsOwnDirectory(string path, out string why)
    {
        switch (NativeMethods.Lstat(path))
        {
            case null:
                why = "unreadable";
                return false;
            case { Type: NativeMethods.S_IFLNK }:
                why = "a symbolic link (to '" + (new FileInfo(path).LinkTarget ?? "?") + "')";
                return false;
            case { Type: not NativeMethods.S_IFDIR }:
                why = "not a directory";
                return false;
            case { Uid: var uid } when uid != NativeMethods.geteuid():
                why = "owned by another user (uid " + uid.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")";
                return false;
            default:
                why = string.Empty;
                return true;
        }
    }
}
