using SandboxedBuild.Errors;
using SandboxedBuild.Policy;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Linux;

/// <summary>
/// What runs of the caller that were killed (SIGKILL: no <c>finally</c> ran) left behind, removed
/// by the next run: their private directories (<see cref="OwnedDirectory.SweepStale"/>) and the
/// placeholders no live run holds (<see cref="PlaceholderLease.Sweep"/>). Only the caller's own,
/// only those whose owner lock no live process holds, never through a link.
/// </summary>
internal static class Leftovers
{
    /// <summary>The temporary directories private directories are made in: <c>$XDG_RUNTIME_DIR</c> (the proxy's) and the temporary directory.</summary>
    public static IEnumerable<string> Roots()
    {
        var temp = Path.TrimEndingDirectorySeparator(Path.GetTempPath());
        yield return temp;
        if (Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg && xdg.StartsWith('/') && xdg != temp && Directory.Exists(xdg))
        {
            yield return Path.TrimEndingDirectorySeparator(xdg);
        }
    }

    /// <summary>Removes what killed runs left; one coded warning per thing removed.</summary>
    public static IReadOnlyList<Diagnostic> Sweep(string lockDirectory)
    {
        var removed = new List<string>();
        foreach (var root in Roots())
        {
            removed.AddRange(OwnedDirectory.SweepStale(root));
        }

        PlaceholderLease.Sweep(lockDirectory, removed);
        return removed.Count == 0 ? [] : [Errors.Errors.LeftoverRemoved.With(removed.Count, string.Concat(removed.Select(r => "\n    " + r)))];
    }

    /// <summary>
    /// Holds the run's placeholders (<see cref="PlaceholderLease"/>): <paramref name="placeholders"/>
    /// (missing when the policy was read), and any other protected name of the policy that is now a
    /// placeholder of a concurrent run, which this run must keep from being removed while it binds it.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="placeholders">The rules <see cref="BwrapCommandLine.Placeholders"/> gave.</param>
    /// <param name="fs">The file system.</param>
    /// <param name="realLocation">Where a rule's path really is; an <see cref="IOException"/> for a link on the way.</param>
    /// <param name="lockDirectory">The lock directory.</param>
    /// <param name="removed">Receives what the sweep of killed runs' placeholders removed.</param>
    /// <exception cref="IOException">A placeholder could not be made.</exception>
    public static PlaceholderLease HoldPlaceholders(SandboxPolicy policy, IReadOnlyList<PathRule> placeholders, IFileSystem fs, Func<string, string> realLocation, string lockDirectory, ICollection<string> removed)
    {
        var missing = placeholders.Select(r => (realLocation(r.Path), r.Kind == PathKind.Directory)).ToList();
        var existing = new List<(string, bool)>();
        foreach (var rule in policy.Paths.Where(r => r.Access == PathAccess.Protected && !r.RemoveIfCreated && !placeholders.Contains(r) && (fs.DirectoryExists(r.Path) || fs.FileExists(r.Path))))
        {
            try
            {
                existing.Add((realLocation(rule.Path), rule.Kind == PathKind.Directory));
            }
            catch (IOException)
            {
                // A link on the way: no placeholder of ours is there.
            }
        }

        return PlaceholderLease.Acquire(missing, existing, removed, lockDirectory);
    }
}
