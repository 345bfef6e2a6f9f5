using SandboxedBuild.Interop;

namespace SandboxedBuild.Inference;

/// <summary>A directory the restore may write only to replace a lock file in it, and what was in it before the step.</summary>
/// <param name="Directory">The directory (the project's, or where <c>NuGetLockFilePath</c> points).</param>
/// <param name="LockFile">The lock file the restore writes.</param>
/// <param name="Before">The entries the directory held when the step was planned; each is bound read-only over itself.</param>
public sealed record LockFileDirectory(string Directory, string LockFile, IReadOnlySet<string> Before);

/// <summary>
/// NuGet's lock file (<c>packages.lock.json</c>) and what a restore needs to write it. NuGet
/// replaces the file through a temporary file beside it (<c>&lt;guid&gt;.tmp</c>, then a rename), so
/// the directory must be writable; every other entry in it is held read-only by a bind over itself
/// (a mount point can be neither changed, removed nor renamed), and what the step adds beside the lock
/// file is reported after it.
/// </summary>
public static class LockFiles
{
    /// <summary>The most entries a directory may hold for its lock file to be made writable: each is a mount.</summary>
    public const int MaxEntries = 512;

    /// <summary>
    /// The lock file the restore of <paramref name="project"/> uses, as NuGet decides it: with
    /// <c>RestorePackagesWithLockFile</c> true, or when the file is there; at <c>NuGetLockFilePath</c>,
    /// else <c>packages.&lt;project name&gt;.lock.json</c> when that exists, else <c>packages.lock.json</c>
    /// beside the project. <see langword="null"/> when it uses none.
    /// </summary>
    public static string? Of(ProjectEvaluation project)
    {
        ArgumentNullException.ThrowIfNull(project);
        var directory = Path.GetDirectoryName(project.ProjectPath)!;
        var named = Path.Combine(directory, "packages." + Path.GetFileNameWithoutExtension(project.ProjectPath).Replace(' ', '_') + ".lock.json");
        var path = project.NuGetLockFilePath ?? (Exists(named) ? named : Path.Combine(directory, "packages.lock.json"));
        return string.Equals(project.RestorePackagesWithLockFile, "true", StringComparison.OrdinalIgnoreCase) || Exists(path) ? path : null;
    }

    /// <summary>
    /// The entries of <paramref name="directory"/> to hold read-only while the restore may write its
    /// lock file there: all but the lock file and the directories the step writes anyway; <see langword="null"/>,
    /// with why, when a bind cannot hold them (a symbolic link or a special file, which a writable
    /// directory would let the restore replace, or more than <see cref="MaxEntries"/> entries).
    /// </summary>
    public static IReadOnlySet<string>? EntriesToHold(string directory, string lockFile, IReadOnlySet<string> writable, out string why)
    {
        ArgumentNullException.ThrowIfNull(writable);
        List<string> entries;
        try
        {
            // Names only, with no link followed; each is looked at with lstat below.
            entries = [.. System.IO.Directory.EnumerateFileSystemEntries(directory).Take(MaxEntries + 1)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            why = "it cannot be listed (" + ex.Message + ")";
            return null;
        }

        if (entries.Count > MaxEntries)
        {
            why = $"it holds more than {MaxEntries} entries, each of which would have to be held read-only by a mount";
            return null;
        }

        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries.Where(e => e != lockFile && !writable.Contains(e)).Order(StringComparer.Ordinal))
        {
            switch (NativeMethods.Lstat(entry))
            {
                case { Type: NativeMethods.S_IFDIR } or { Type: NativeMethods.S_IFREG }:
                    held.Add(entry);
                    break;
                case { Type: NativeMethods.S_IFLNK }:
                    why = $"'{entry}' in it is a symbolic link, which a bind cannot hold: a restore that may write the directory could replace it";
                    return null;
                case null:
                    why = $"'{entry}' in it cannot be looked at";
                    return null;
                default:
                    why = $"'{entry}' in it is not a file or a directory";
                    return null;
            }
        }

        why = string.Empty;
        return held;
    }

    /// <summary>What <paramref name="directory"/> holds now that it did not hold before the step, but for the lock file (at most 20 entries).</summary>
    public static IReadOnlyList<string> Added(LockFileDirectory directory, IReadOnlySet<string> writable)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(writable);
        try
        {
            return [.. System.IO.Directory.EnumerateFileSystemEntries(directory.Directory)
                .Where(e => e != directory.LockFile && !directory.Before.Contains(e) && !writable.Contains(e))
                .Order(StringComparer.Ordinal)
                .Take(20)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static bool Exists(string path) => NativeMethods.Lstat(path) is not null;
}
