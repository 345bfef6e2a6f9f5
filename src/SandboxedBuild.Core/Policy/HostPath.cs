namespace SandboxedBuild.Policy;

/// <summary>Where a path really leads on the host, and the first link on the way that a sandbox could have planted.</summary>
/// <param name="Path">The path as spelled (absolute, normalized).</param>
/// <param name="Real">The location the kernel reaches when it follows every link in <paramref name="Path"/>; what bubblewrap would bind.</param>
/// <param name="Link">The first untrusted symbolic link on the way, or <see langword="null"/> when there is none.</param>
/// <param name="Target">The raw target of <paramref name="Link"/>.</param>
/// <param name="Loops">Whether the links loop or nest too deeply to follow (then <paramref name="Real"/> is where resolution stopped).</param>
public sealed record ResolvedPath(string Path, string Real, string? Link, string? Target, bool Loops = false)
{
    /// <summary>Whether the path goes through a link the sandbox could have planted (or links that cannot be followed).</summary>
    public bool IsUntrusted => Link is not null || Loops;
}

/// <summary>
/// Resolves paths on the host, component by component, before they become mounts.
/// </summary>
/// <remarks>
/// <para>
/// bubblewrap binds the target of every link in a bind source. A link in a directory a sandbox could
/// write (the repository, an output directory, the packages folder, any directory the user once ran
/// <c>exec</c> in) may have been planted to point anywhere, so such a link in a path that is about to be
/// bound is refused, whatever its target. The policy rules then apply to the real location.
/// </para>
/// <para>
/// A link is trusted when no sandbox can have written its directory: the root directory, the system
/// trees and the directories that hold other users' files (never writable in any policy), the
/// caller's home and its ancestors (the home is always a private tmpfs inside), and any directory the
/// caller cannot write. For a root caller every directory is writable, so only the fixed list applies.
/// </para>
/// </remarks>
public static class HostPath
{
    /// <summary>Links followed before giving up, as the kernel's limit.</summary>
    private const int MaxLinks = 40;

    /// <summary>Resolves <paramref name="path"/>.</summary>
    /// <param name="fs">The host file system.</param>
    /// <param name="path">An absolute path.</param>
    /// <param name="home">The caller's home directory.</param>
    public static ResolvedPath Resolve(IFileSystem fs, string path, string home)
    {
        var pending = new List<string>(Components(path));
        var current = "/";
        string? link = null, target = null;
        var hops = 0;
        while (pending.Count > 0)
        {
            var component = pending[0];
            pending.RemoveAt(0);
            if (component is "" or ".")
            {
                continue;
            }

            if (component == "..")
            {
                current = System.IO.Path.GetDirectoryName(current) ?? "/";
                continue;
            }

            var next = current == "/" ? "/" + component : current + "/" + component;
            if (fs.LinkTarget(next) is not { } raw)
            {
                current = next;
                continue;
            }

            if (++hops > MaxLinks)
            {
                return new ResolvedPath(path, next, link ?? next, target ?? raw, Loops: true);
            }

            if (link is null && !IsTrustedLinkDirectory(fs, current, home))
            {
                (link, target) = (next, raw);
            }

            // The link's target replaces it; its ".." components climb from the link's directory,
            // which is a real path here because every component before it has been resolved.
            if (raw.StartsWith('/'))
            {
                current = "/";
            }

            pending.InsertRange(0, Components(raw));
        }

        return new ResolvedPath(path, current, link, target);
    }

    /// <summary>Whether a link in <paramref name="directory"/> (a real path) can be relied on: no sandbox can have written it.</summary>
    internal static bool IsTrustedLinkDirectory(IFileSystem fs, string directory, string home)
    {
        if (directory == "/"
            || BroadPaths.SystemTrees.Any(d => PathUtil.IsSameOrUnder(directory, d))
            || BroadPaths.SharedParents.Contains(directory, StringComparer.Ordinal)
            || PathUtil.IsSameOrUnder(home, directory))
        {
            return true;
        }

        return !fs.IsWritableDirectory(directory);
    }

    private static string[] Components(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
