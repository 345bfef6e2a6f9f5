using System.Globalization;

namespace SandboxedBuild.Interop;

/// <summary>
/// The placeholders of one run, shared with every other run that needs the same ones: a
/// placeholder is created by the first run that needs it and removed by the last, and one that a
/// killed run left behind is removed by the next.
/// </summary>
/// <remarks>
/// <para>
/// Each placeholder has a lock file in <see cref="LockDirectory"/>, named by a hash of its real
/// path, whose text records the path, its kind and the inode and device created. Every run that
/// uses the placeholder holds a shared <c>flock</c> on that file for its whole run (the kernel drops
/// it when the run ends, however it ends). A run that ends takes the exclusive lock without
/// waiting: if it gets it, no other run uses the placeholder, and it removes it (only if it is still
/// the very empty entry recorded) and the lock file; if not, it leaves both to the others.
/// </para>
/// <para>
/// Removing a placeholder that another sandbox still has bound would not only break it: the kernel
/// detaches a mount whose mount point is unlinked in another namespace, so the name would become
/// writable inside the running sandbox. That is why no run removes one another run holds.
/// </para>
/// <para>
/// Creating, joining, releasing and sweeping all happen under one exclusive guard lock
/// (<c>placeholders.lock</c>), held only for those few system calls: so a placeholder is never
/// removed between another run's finding it and its taking the shared lock, and a lock file is
/// unlinked only when no one else can have it open. A lock file whose exclusive lock a run gets
/// while sweeping belongs to no live run: what it records is removed if it is still there, as made.
/// A record is trusted only because the directory is the caller's private one; it is still checked
/// (the name must be the hash of the recorded path; the entry must be the recorded inode, reached
/// without following a link, and empty).
/// </para>
/// </remarks>
internal sealed class PlaceholderLease : IDisposable
{
    private const string Prefix = "ph-";
    private readonly string _directory;
    private readonly List<(string Real, bool IsDirectory, LockFile Lock)> _held;

    private PlaceholderLease(string directory, List<(string, bool, LockFile)> held)
    {
        _directory = directory;
        _held = held;
    }

    /// <summary>The real paths this run holds placeholders at.</summary>
    public IReadOnlyList<string> Paths => [.. _held.Select(h => h.Real)];

    /// <summary>
    /// Holds a placeholder at each of <paramref name="names"/> that is missing (one is made) or is
    /// a live run's placeholder (it is joined), as found under the guard; a name that something else
    /// is at is left alone and not held.
    /// </summary>
    /// <param name="names">Real paths to hold, and whether each is a directory.</param>
    /// <param name="removed">Receives what a killed run had left and the sweep removed.</param>
    /// <param name="directory">The lock directory (<see cref="LockDirectory.Ensure"/>).</param>
    /// <exception cref="IOException">A placeholder could not be made (a link in the way, a parent not writable).</exception>
    public static PlaceholderLease Acquire(IReadOnlyList<(string Real, bool IsDirectory)> names, ICollection<string> removed, string directory)
    {
        using var guard = Guard(directory);
        SweepUnderGuard(directory, removed);
        var held = new List<(string, bool, LockFile)>();
        try
        {
            // Parents first: a placeholder directory may hold another.
            foreach (var (real, isDirectory) in names.Distinct().OrderBy(c => c.Real.Length))
            {
                var lockPath = LockDirectory.FileFor(directory, Prefix, real);
                var file = LockFile.Open(lockPath, create: true)!;
                var record = Record.Parse(file.Read());
                var there = NativeMethods.Lstat(real);
                if (there is null)
                {
                    // Missing: held by a new placeholder (bubblewrap must find something to bind).
                    try
                    {
                        var identity = NoFollowDirectory.CreatePlaceholder(real, isDirectory);
                        file.Write(new Record(real, isDirectory, identity, Birth(real)).ToString());
                    }
                    catch (IOException ex)
                    {
                        file.Dispose();
                        throw new Failure(real, ex);
                    }
                }
                else if (record is null || !record.StillThere(real))
                {
                    // Something that is no placeholder of ours (the user's own file): bound as it is, not held.
                    if (record is null && file.TryLock(exclusive: true))
                    {
                        file.Unlink();
                    }

                    file.Dispose();
                    if (MayBeAnotherUsersPlaceholder(real, there.Value.Type, there.Value.Uid))
                    {
                        throw new Failure(real, new IOException(
                            $"it is an empty {(there.Value.Type == NativeMethods.S_IFDIR ? "directory" : "file")} of user {there.Value.Uid}, which may be the placeholder of a sandbox that user runs here: " +
                            "its lease is not this user's to share, and when that sandbox ends and removes it, this sandbox's read-only bind of it would go with it"));
                    }

                    continue;
                }

                // Under the guard no one holds it exclusively: this cannot wait.
                if (!file.TryLock(exclusive: false))
                {
                    file.Dispose();
                    throw new IOException($"the lock file '{lockPath}' is held exclusively outside the guard");
                }

                held.Add((real, isDirectory, file));
            }
        }
        catch
        {
            ReleaseUnderGuard(held);
            throw;
        }

        return new PlaceholderLease(directory, held);
    }

    /// <summary>
    /// Whether the entry at <paramref name="real"/> could be a placeholder of a sandbox of another
    /// user: empty, and not the caller's. Each user's leases are in that user's own lock directory,
    /// so a run cannot join another user's placeholder, and binding it would be unsafe: its removal
    /// at the end of that user's run detaches every bind of it (the name would become writable in
    /// this sandbox). So such a name is refused (SBX4010) rather than bound. An empty protected
    /// name that belongs to someone else and is no placeholder is rare (an empty <c>.vscode</c> made
    /// with sudo): the error says to remove it.
    /// </summary>
    private static bool MayBeAnotherUsersPlaceholder(string real, int type, uint owner)
    {
        if (owner == NativeMethods.geteuid())
        {
            return false;
        }

        try
        {
            return type switch
            {
                NativeMethods.S_IFREG => NativeMethods.SizeAndBirth(real) is { Size: 0 },
                NativeMethods.S_IFDIR => !Directory.EnumerateFileSystemEntries(real).Any(),
                _ => false,
            };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unreadable: nothing says it is empty; the mount check still compares what is bound.
            return false;
        }
    }

    /// <summary>Removes what killed runs left: placeholders no live run holds, and their lock files.</summary>
    public static void Sweep(string directory, ICollection<string> removed)
    {
        using var guard = Guard(directory);
        SweepUnderGuard(directory, removed);
    }

    /// <summary>Whether <paramref name="real"/> is a placeholder some run (live, or killed and not yet swept) made, still as it was made.</summary>
    public static bool IsPlaceholder(string real, string directory)
    {
        using var guard = Guard(directory);
        return IsPlaceholderUnderGuard(real, directory);
    }

    private static bool IsPlaceholderUnderGuard(string real, string directory)
    {
        using var file = LockFile.Open(LockDirectory.FileFor(directory, Prefix, real), create: false);
        return file is not null && Record.Parse(file.Read()) is { } record && record.StillThere(real);
    }

    /// <summary>Gives the placeholders up; those no other run holds are removed.</summary>
    public void Dispose()
    {
        using var guard = Guard(_directory);
        ReleaseUnderGuard(_held);
        _held.Clear();
    }

    private static LockFile Guard(string directory)
    {
        var guard = LockFile.Open(Path.Combine(directory, "placeholders.lock"), create: true)!;
        try
        {
            guard.Lock(exclusive: true);
            return guard;
        }
        catch
        {
            guard.Dispose();
            throw;
        }
    }

    private static void ReleaseUnderGuard(List<(string Real, bool IsDirectory, LockFile Lock)> held)
    {
        // Deepest first: a placeholder directory is empty again once those in it are gone.
        foreach (var (_, _, file) in held.OrderByDescending(h => h.Real.Length))
        {
            try
            {
                if (file.TryLock(exclusive: true))
                {
                    RemoveRecorded(file);
                }
            }
            catch (IOException)
            {
                // Left for the next sweep.
            }
            finally
            {
                file.Dispose();
            }
        }
    }

    private static void SweepUnderGuard(string directory, ICollection<string> removed)
    {
        foreach (var path in Directory.EnumerateFiles(directory, Prefix + "*.lock").OrderByDescending(p => (Record.Parse(SafeRead(p)) is { } r ? r.Real.Length : 0)))
        {
            try
            {
                using var file = LockFile.Open(path, create: false);
                if (file is null || !file.TryLock(exclusive: true))
                {
                    continue;
                }

                if (RemoveRecorded(file) is { } gone)
                {
                    removed.Add(gone);
                }
            }
            catch (IOException)
            {
                // Not a lock file of ours (a link, another user's): left alone.
            }
        }
    }

    private static string SafeRead(string path)
    {
        try
        {
            using var file = LockFile.Open(path, create: false);
            return file?.Read() ?? string.Empty;
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>With the exclusive lock held: removes the recorded placeholder if it is still as made, then the lock file. The path removed, if any.</summary>
    private static string? RemoveRecorded(LockFile file)
    {
        string? gone = null;
        if (Record.Parse(file.Read()) is { } record && LockDirectory.FileFor(Path.GetDirectoryName(file.Path)!, Prefix, record.Real) == file.Path
            && record.StillThere(record.Real) && (record.IsDirectory || NativeMethods.SizeAndBirth(record.Real) is { Size: 0 })
            && NoFollowDirectory.RemovePlaceholder(record.Real, record.IsDirectory, record.Identity))
        {
            gone = record.Real;
        }

        file.Unlink();
        return gone;
    }

    private static (long, uint) Birth(string real) => NativeMethods.SizeAndBirth(real) is { } b ? (b.BirthSeconds, b.BirthNanoseconds) : (0, 0);

    /// <summary>A placeholder could not be made at <see cref="Real"/>; the message says why.</summary>
    public sealed class Failure(string real, Exception inner) : IOException(inner.Message, inner)
    {
        /// <summary>The name that could not be held.</summary>
        public string Real { get; } = real;
    }

    /// <summary>What a lock file says: the placeholder's real path, its kind, the inode and device made, and its birth time.</summary>
    private sealed record Record(string Real, bool IsDirectory, (ulong Inode, uint DevMajor, uint DevMinor) Identity, (long Seconds, uint Nanoseconds) Born)
    {
        /// <summary>Whether <paramref name="real"/> is this record's path and still the very entry made (same inode, device and birth time, reached without a link).</summary>
        public bool StillThere(string real) => Real == real && NoFollowDirectory.IdentityNoFollow(real) == Identity && Birth(real) == Born;

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"placeholder v1\n{(IsDirectory ? "d" : "f")} {Identity.Inode} {Identity.DevMajor} {Identity.DevMinor} {Born.Seconds} {Born.Nanoseconds}\n{Real}\n");

        public static Record? Parse(string text)
        {
            var lines = text.Split('\n');
            if (lines.Length < 3 || lines[0] != "placeholder v1" || !lines[2].StartsWith('/'))
            {
                return null;
            }

            var f = lines[1].Split(' ');
            return f.Length == 6 && f[0] is "d" or "f"
                && ulong.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var inode)
                && uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
                && uint.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
                && long.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                && uint.TryParse(f[5], NumberStyles.None, CultureInfo.InvariantCulture, out var nanoseconds)
                ? new Record(lines[2], f[0] == "d", (inode, major, minor), (seconds, nanoseconds))
                : null;
        }
    }
}
