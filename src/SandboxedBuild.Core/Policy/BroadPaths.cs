namespace SandboxedBuild.Policy;

/// <summary>
/// Which directories are too broad to be made writable or readable at a user's or a project's
/// asking: the root, the home and its parents, the shared temporary directories, other users'
/// homes, the system's trees and the host's socket directories (the exec policy, the step policies
/// and the inference ask the same questions here). Each judgment says why, in the words the refusal
/// or the warning quotes; <see langword="null"/> means the path is fine.
/// </summary>
internal static class BroadPaths
{
    /// <summary>Directories whose contents are the system's: nothing in or below them may be made writable.</summary>
    internal static readonly string[] SystemTrees = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/proc", "/sys", "/dev", "/run", "/var"];

    /// <summary>The host's shared temporary directories; making one writable would replace the private one and expose its sockets.</summary>
    internal static readonly string[] SharedTemporary = ["/tmp", "/var/tmp", "/dev/shm"];

    /// <summary>Directories that hold other users' or the system's files: neither they nor their parents may be made writable.</summary>
    internal static readonly string[] SharedParents = ["/home", "/root", "/srv", "/opt", "/mnt", "/media"];

    /// <summary>Where host unix sockets live; reading them means connecting to them.</summary>
    internal static readonly string[] SocketDirectories = ["/run", "/var/run", "/var"];

    /// <summary>Says why making <paramref name="path"/> writable would expose too much, or <see langword="null"/> if it is fine.</summary>
    internal static string? DescribeTooBroad(string path, string home)
    {
        if (path == "/")
        {
            return "the root directory";
        }

        if (PathUtil.IsSameOrUnder(home, path))
        {
            return path == home ? "your home directory" : "a parent of your home directory";
        }

        if (SharedTemporary.Contains(path))
        {
            return "the host's shared temporary directory (its sockets and other users' files would replace the private one)";
        }

        if (SharedParents.Any(d => PathUtil.IsSameOrUnder(d, path)))
        {
            return "a directory that holds other users' or the system's files";
        }

        if (SystemTrees.Any(d => PathUtil.IsSameOrUnder(path, d) || PathUtil.IsSameOrUnder(d, path)))
        {
            return "a system directory";
        }

        return null;
    }

    /// <summary>The home directories of the accounts in /etc/passwd, read once.</summary>
    private static readonly Lazy<string[]> AccountHomes = new(() =>
    {
        try
        {
            return [.. File.ReadLines("/etc/passwd")
                .Select(line => line.Split(':'))
                .Where(f => f.Length >= 7 && f[5].StartsWith('/') && f[5] != "/" && !f[5].StartsWith("/nonexistent", StringComparison.Ordinal))
                .Select(f => PathUtil.Normalize(f[5], "/"))
                .Distinct(StringComparer.Ordinal)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    });

    /// <summary>
    /// Says which other user's home <paramref name="path"/> lies in, or <see langword="null"/>: anything
    /// below <c>/home/NAME</c>, <c>/root</c> or an account's home in /etc/passwd that is not the caller's.
    /// A root caller can reach every one of them, which is why a project may never name one.
    /// </summary>
    internal static string? DescribeOtherUsersHome(string path, string home)
    {
        if (PathUtil.IsSameOrUnder(path, home))
        {
            return null;
        }

        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var candidate = parts is ["home", _, ..] ? "/home/" + parts[1] : parts is ["root", ..] ? "/root" : null;
        candidate ??= AccountHomes.Value.FirstOrDefault(h => PathUtil.IsSameOrUnder(path, h) && !PathUtil.IsSameOrUnder(home, h)
            && !SharedTemporary.Contains(h, StringComparer.Ordinal) && !SystemTrees.Any(t => PathUtil.IsSameOrUnder(h, t)));
        return candidate is null || PathUtil.IsSameOrUnder(home, candidate) ? null : $"in another user's home directory ({candidate})";
    }

    /// <summary>Says what an extra readable setting of <paramref name="path"/> exposes that deserves a warning, or <see langword="null"/>.</summary>
    internal static string? DescribeSensitiveRead(string path, string home)
    {
        if (PathUtil.IsSameOrUnder(home, path))
        {
            return "your whole home directory, with the keys and tokens in it";
        }

        return SocketDirectories.Any(d => PathUtil.IsSameOrUnder(d, path))
            ? "host unix sockets (docker, ssh-agent, D-Bus): connecting works through a read-only mount"
            : null;
    }
}
