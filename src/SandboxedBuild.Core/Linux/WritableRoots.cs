using SandboxedBuild.Policy;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Linux;

/// <summary>
/// The host directories a run binds writable (the project directory first among them), by device
/// and inode as they were when the sandbox started, to find after the run the ones that were
/// removed, moved or replaced (by a link, for one) meanwhile.
/// </summary>
/// <remarks>
/// After the run the tool still works on the host below these directories (it removes what the
/// command must not have created). Once one of them is gone, its path names something else, or
/// nothing: a link put in its place by another process, or by a sandbox that can write the parent,
/// would lead that clean-up into a directory the policy never granted. So nothing below a changed
/// root is touched, and the run ends with a coded error instead of the command's exit status.
/// </remarks>
internal sealed class WritableRoots
{
    private readonly List<(string Path, string Real, (ulong, uint, uint) Identity)> _roots = [];

    private WritableRoots()
    {
    }

    /// <summary>Records the writable binds of <paramref name="policy"/> that exist now.</summary>
    public static WritableRoots Snapshot(SandboxPolicy policy, IFileSystem fs, string home)
    {
        var roots = new WritableRoots();
        foreach (var rule in policy.Paths.Where(r => r.Access == PathAccess.ReadWrite))
        {
            var place = HostPath.Resolve(fs, rule.Path, home);
            if (!place.IsUntrusted && NoFollowDirectory.IdentityNoFollow(place.Real) is { } identity)
            {
                roots._roots.Add((rule.Path, place.Real, identity));
            }
        }

        return roots;
    }

    /// <summary>The recorded directories that are no longer there as they were, with what became of each.</summary>
    public IReadOnlyList<(string Path, string What)> Changed()
    {
        var changed = new List<(string, string)>();
        foreach (var (path, real, identity) in _roots)
        {
            var now = NoFollowDirectory.IdentityNoFollow(real);
            if (now == identity)
            {
                continue;
            }

            var what = now is not null ? "another file or directory is in its place now"
                : NativeMethods.Lstat(real) switch
                {
                    null => "it no longer exists",
                    { Type: NativeMethods.S_IFLNK } => "a symbolic link is in its place now",
                    _ => "a directory above it was replaced or made a link",
                };
            changed.Add((path, what));
        }

        return changed;
    }

    /// <summary>Whether <paramref name="path"/> is one of <paramref name="roots"/> or below one.</summary>
    public static bool IsUnder(string path, IEnumerable<(string Path, string What)> roots) =>
        roots.Any(r => path == r.Path || path.StartsWith(r.Path.TrimEnd('/') + "/", StringComparison.Ordinal));
}
