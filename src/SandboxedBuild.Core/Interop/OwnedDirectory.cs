using System.Text.RegularExpressions;

namespace SandboxedBuild.Interop;

/// <summary>
/// A private directory of one run in a temporary directory (<c>dotnet-sandbox-…</c>, mode 0700),
/// with an owner lock next to it that says the run is alive, so that what a killed run left is
/// recognised and removed by a later one, and nothing a live run uses ever is.
/// </summary>
/// <remarks>
/// <para>
/// Next to the directory <c>ROOT/dotnet-sandbox-KIND-HEX</c> is <c>ROOT/dotnet-sandbox-KIND-HEX.owner</c>,
/// a regular file created (O_EXCL, 0600) before the directory, on which the run holds an exclusive
/// <c>flock</c> until it has removed the directory; the kernel drops that lock when the run dies,
/// however it dies. The owner file sits in the temporary directory itself, which no sandbox sees
/// (its <c>/tmp</c> is a private tmpfs), not in the directory, which some sandboxes may write.
/// </para>
/// <para>
/// <see cref="SweepStale"/> takes the exclusive lock of each owner file without waiting; only when
/// it gets it (no live run holds it) and the directory is a real directory (not a link) owned by the
/// caller is the directory removed, entry by entry through open descriptors, never following a
/// link. A name that only looks like one (no owner file, another user's, a link) is left alone.
/// </para>
/// </remarks>
public sealed partial class OwnedDirectory : IDisposable
{
    private const string OwnerSuffix = ".owner";
    private readonly LockFile? _owner;

    private OwnedDirectory(string path, LockFile? owner)
    {
        Path = path;
        _owner = owner;
    }

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>Creates <c>ROOT/PREFIXHEX</c> (0700) and takes its owner lock.</summary>
    /// <param name="root">The temporary directory it goes in.</param>
    /// <param name="prefix">One of <c>dotnet-sandbox-</c>, <c>dotnet-sandbox-run-</c>, <c>dotnet-sandbox-eval-</c>, <c>dotnet-sandbox-nuget-</c>.</param>
    /// <param name="hexDigits">How many random hex digits name it (the runtime directory keeps its socket's path short).</param>
    /// <exception cref="IOException">It could not be created.</exception>
    public static OwnedDirectory Create(string root, string prefix, int hexDigits = 16)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("private directories with owner locks need a POSIX system");
        }

        if (!OperatingSystem.IsLinux())
        {
            // The lock file's flags are Linux's; elsewhere no owner lock (and no sweep).
            return new OwnedDirectory(Directory.CreateTempSubdirectory(prefix).FullName, null);
        }

        for (var attempt = 0; ; attempt++)
        {
            var path = System.IO.Path.Combine(root, prefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))[..hexDigits]);
            var owner = LockFile.Open(path + OwnerSuffix, create: true, exclusiveCreate: true);
            if (owner is null)
            {
                if (attempt < 8)
                {
                    continue;
                }

                throw new IOException($"cannot create a private directory in '{root}'");
            }

            owner.Lock(exclusive: true);

            // A sweep may have taken the lock between the creation and ours, and unlinked the file.
            if (!owner.StillAt())
            {
                owner.Dispose();
                continue;
            }

            try
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                if (NativeMethods.Lstat(path) is not { Type: NativeMethods.S_IFDIR } st || st.Uid != NativeMethods.geteuid())
                {
                    throw new IOException($"'{path}' is not a directory of yours");
                }
            }
            catch
            {
                owner.Unlink();
                owner.Dispose();
                throw;
            }

            return new OwnedDirectory(path, owner);
        }
    }

    /// <summary>Removes the directory, then its owner file, then drops the lock.</summary>
    public void Dispose()
    {
        if (_owner is null)
        {
            Directory.Delete(Path, recursive: true);
            return;
        }

        _ = NoFollowDirectory.RemoveTree(Path);
        _owner.Unlink();
        _owner.Dispose();
    }

    /// <summary>Removes from <paramref name="root"/> the private directories of runs that are gone; the paths removed.</summary>
    public static IReadOnlyList<string> SweepStale(string root)
    {
        var removed = new List<string>();
        IEnumerable<string> owners;
        try
        {
            owners = [.. Directory.EnumerateFiles(root, "dotnet-sandbox-*" + OwnerSuffix)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return removed;
        }

        var uid = NativeMethods.geteuid();
        foreach (var ownerPath in owners)
        {
            var path = ownerPath[..^OwnerSuffix.Length];
            if (!Named().IsMatch(System.IO.Path.GetFileName(path)))
            {
                continue;
            }

            try
            {
                using var owner = LockFile.Open(ownerPath, create: false);
                if (owner is null || !owner.TryLock(exclusive: true) || !owner.StillAt())
                {
                    continue;
                }

                if (NativeMethods.Lstat(path) is { } st)
                {
                    if (st.Type != NativeMethods.S_IFDIR || st.Uid != uid)
                    {
                        // A link or file named like one, or another user's: not ours to remove.
                        continue;
                    }

                    if (NoFollowDirectory.RemoveTree(path))
                    {
                        removed.Add(path);
                    }
                }

                owner.Unlink();
            }
            catch (IOException)
            {
                // Another user's owner file, a link, or unreadable: left alone.
            }
        }

        return removed;
    }

    [GeneratedRegex("^dotnet-sandbox-(run-|eval-|nuget-)?[0-9a-f]{12,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex Named();
}
