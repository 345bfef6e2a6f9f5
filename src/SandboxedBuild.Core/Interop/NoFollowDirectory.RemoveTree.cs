using System.Runtime.InteropServices;
using static SandboxedBuild.Interop.NativeMethods;

namespace SandboxedBuild.Interop;

/// <summary>Removing a whole tree without following a link.</summary>
internal static partial class NoFollowDirectory
{
    private const int MaxTreeDepth = 128;

    /// <summary>
    /// Removes the directory <paramref name="path"/> (absolute, its parents real) and everything in
    /// it, each entry through its parent's open descriptor: a link is removed, never followed, and a
    /// directory swapped for a link meanwhile is not entered. What cannot be removed stays.
    /// </summary>
    /// <returns>Whether the directory is gone.</returns>
    public static bool RemoveTree(string path)
    {
        int parent;
        try
        {
            parent = OpenDirectory(Path.GetDirectoryName(path)!);
        }
        catch (IOException)
        {
            return false;
        }

        try
        {
            var name = Path.GetFileName(path);
            var fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0)
            {
                return Marshal.GetLastPInvokeError() == ENOENT;
            }

            try
            {
                RemoveEntries(fd, 0);
            }
            finally
            {
                _ = close(fd);
            }

            return unlinkat(parent, name, AT_REMOVEDIR) == 0;
        }
        finally
        {
            _ = close(parent);
        }
    }

    private static void RemoveEntries(int directoryFd, int depth)
    {
        List<string> names;
        try
        {
            // The open descriptor's own directory, whatever its path has become.
            names = [.. Directory.EnumerateFileSystemEntries("/proc/self/fd/" + directoryFd.ToString(System.Globalization.CultureInfo.InvariantCulture)).Select(p => Path.GetFileName(p))];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var name in names)
        {
            if (LstatAt(directoryFd, name) is { Type: S_IFDIR } && depth < MaxTreeDepth)
            {
                var child = openat(directoryFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (child >= 0)
                {
                    try
                    {
                        RemoveEntries(child, depth + 1);
                    }
                    finally
                    {
                        _ = close(child);
                    }
                }

                _ = unlinkat(directoryFd, name, AT_REMOVEDIR);
            }
            else
            {
                _ = unlinkat(directoryFd, name, 0);
            }
        }
    }
}
