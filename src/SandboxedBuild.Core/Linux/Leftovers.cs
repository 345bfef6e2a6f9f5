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
    /// Holds the run's placeholders (<see cref="PlaceholderLease"/>): at every protected name of the
    /// policy that could hold one (its parent is writable by the caller), a placeholder is made if
    /// the name is missing, or joined if a concurrent run's placeholder is there.
    /// </summary>
    /// <remarks>
    /// What is there is looked at only under the placeholders' guard, never earlier: a name seen as
    /// another run's placeholder when the policy was read may be gone by the time of the lease (that
    /// run ended), and one seen missing may be another run's placeholder by then. A run that went by
    /// the earlier look held neither, bound the name all the same, and found it vanished (SBX4009),
    /// or, once its command ran, had its bind detached by the other run's removal.
    /// </remarks>
    /// <param name="policy">The policy.</param>
    /// <param name="fs">The file system.</param>
    /// <param name="realLocation">Where a rule's path really is; an <see cref="IOException"/> for a link on the way.</param>
    /// <param name="lockDirectory">The lock directory.</param>
    /// <param name="removed">Receives what the sweep of killed runs' placeholders removed.</param>
    /// <exception cref="PlaceholderLease.Failure">A placeholder could not be made (for a missing name, a link on the way).</exception>
    public static PlaceholderLease HoldPlaceholders(SandboxPolicy policy, IFileSystem fs, Func<string, string> realLocation, string lockDirectory, ICollection<string> removed)
    {
        var names = new List<(string, bool)>();
        foreach (var rule in Candidates(policy, fs))
        {
            string real;
            try
            {
                real = realLocation(rule.Path);
            }
            catch (IOException ex)
            {
                // A link on the way to something that exists: no placeholder of ours is there, and the
                // mount check refuses the link. Missing, the name would need one: refused.
                if (fs.DirectoryExists(rule.Path) || fs.FileExists(rule.Path))
                {
                    continue;
                }

                throw new PlaceholderLease.Failure(rule.Path, ex);
            }

            names.Add((real, rule.Kind == PathKind.Directory));
        }

        return PlaceholderLease.Acquire(names, removed, lockDirectory);
    }

    /// <summary>The protected names a placeholder could hold: not those removed after the run instead, and only where the caller may create one.</summary>
    public static IEnumerable<PathRule> Candidates(SandboxPolicy policy, IFileSystem fs) =>
        policy.Paths.Where(r => BwrapCommandLine.MayHoldPlaceholder(r, fs));
}
