using System.Runtime.InteropServices;
using static SandboxedBuild.Interop.NativeMethods;

namespace SandboxedBuild.Interop;

/// <summary>
/// Creates a directory and its missing parents on the host without following a symbolic link on the
/// way: each component is opened relative to the one before, with <c>O_NOFOLLOW</c>.
/// </summary>
/// <remarks>
/// The output directories a step writes are created by the tool before the run, in a tree that
/// another sandbox may be writing at the same moment. <see cref="Directory.CreateDirectory(string)"/>
/// resolves the path anew for each component, so a directory swapped for a link between the policy
/// check and the creation would make it create directories wherever the link points.
/// </remarks>
internal static partial class NoFollowDirectory
{
    // O_RDONLY, O_NOFOLLOW, O_CLOEXEC, ELOOP, ENOTDIR and open(2) are NativeMethods'.
    private const int O_DIRECTORY = 0x10000;
    private const int O_WRONLY = 1;
    private const int O_CREAT = 0x40;
    private const int O_EXCL = 0x80;
    private const int AT_REMOVEDIR = 0x200;
    private const int EEXIST = 17;

    /// <summary>Creates <paramref name="path"/> (absolute) and its missing parents; every existing component must be a real directory.</summary>
    /// <exception cref="IOException">A component is a link or not a directory, or the creation failed.</exception>
    public static void Create(string path)
    {
        var fd = Open(-1, "/", path);
        try
        {
            foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                if (mkdirat(fd, name, Convert.ToInt32("777", 8)) != 0 && Marshal.GetLastPInvokeError() is var error && error != EEXIST)
                {
                    throw new IOException($"cannot create '{name}' in the way to '{path}': {NativeMethods.StrError(error)}");
                }

                var next = Open(fd, name, path);
                _ = NativeMethods.close(fd);
                fd = next;
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    /// <summary>
    /// Creates an empty placeholder (a directory, or a file) at <paramref name="path"/>, through its
    /// real parent opened without following links. Returns what it created, to remove only that later.
    /// </summary>
    /// <exception cref="IOException">Something is already there, a component is a link, or the creation failed.</exception>
    public static (ulong Inode, uint DevMajor, uint DevMinor) CreatePlaceholder(string path, bool directory)
    {
        var parent = OpenDirectory(Path.GetDirectoryName(path)!);
        try
        {
            var name = Path.GetFileName(path);
            if (directory)
            {
                if (mkdirat(parent, name, Convert.ToInt32("755", 8)) != 0)
                {
                    throw new IOException($"cannot create the placeholder '{path}': {NativeMethods.StrError(Marshal.GetLastPInvokeError())}");
                }
            }
            else
            {
                var fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, Convert.ToInt32("644", 8));
                if (fd < 0)
                {
                    throw new IOException($"cannot create the placeholder '{path}': {NativeMethods.StrError(Marshal.GetLastPInvokeError())}");
                }

                _ = NativeMethods.close(fd);
            }

            return Identity(parent, name) ?? throw new IOException($"the placeholder '{path}' vanished as it was made");
        }
        finally
        {
            _ = NativeMethods.close(parent);
        }
    }

    /// <summary>
    /// Removes the placeholder at <paramref name="path"/> if it is still the very (empty) entry that
    /// <see cref="CreatePlaceholder"/> made; a link in the way, or anything else there, is left alone.
    /// </summary>
    public static bool RemovePlaceholder(string path, bool directory, (ulong Inode, uint DevMajor, uint DevMinor) created)
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
            if (Identity(parent, name) != created)
            {
                return false;
            }

            // rmdir fails on a non-empty directory; a file placeholder is bound read-only, so it is still empty.
            return unlinkat(parent, name, directory ? AT_REMOVEDIR : 0) == 0;
        }
        finally
        {
            _ = NativeMethods.close(parent);
        }
    }

    /// <summary>
    /// The device and inode of the entry at <paramref name="path"/> (absolute, real), reached without
    /// following any link; <see langword="null"/> when a component is a link, missing or unreadable.
    /// </summary>
    /// <param name="path">The path.</param>
    /// <param name="root">Where the walk starts, <c>/</c> unless given (<c>/proc/PID/root</c>: another mount namespace's root).</param>
    public static (ulong Inode, uint DevMajor, uint DevMinor)? IdentityNoFollow(string path, string root = "/")
    {
        if (path == "/")
        {
            return NativeMethods.StatIdentity(root);
        }

        int parent;
        try
        {
            parent = OpenDirectory(Path.GetDirectoryName(path)!, root);
        }
        catch (IOException)
        {
            return null;
        }

        try
        {
            return NativeMethods.LstatAt(parent, Path.GetFileName(path)) is { Type: not NativeMethods.S_IFLNK } st ? (st.Inode, st.DevMajor, st.DevMinor) : null;
        }
        finally
        {
            _ = NativeMethods.close(parent);
        }
    }

    /// <summary>Opens a directory (absolute, without links) for use as a base, no link followed on the way.</summary>
    private static int OpenDirectory(string path, string root = "/")
    {
        var fd = Open(-1, root, path);
        foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            int next;
            try
            {
                next = Open(fd, name, path);
            }
            catch
            {
                _ = NativeMethods.close(fd);
                throw;
            }

            _ = NativeMethods.close(fd);
            fd = next;
        }

        return fd;
    }

    private static unsafe (ulong, uint, uint)? Identity(int directoryFd, string name) =>
        NativeMethods.LstatAt(directoryFd, name) is { } st ? (st.Inode, st.DevMajor, st.DevMinor) : null;

    private static int Open(int directoryFd, string name, string path)
    {
        var fd = directoryFd < 0 ? NativeMethods.OpenFile(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : openat(directoryFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
        {
            return fd;
        }

        var error = Marshal.GetLastPInvokeError();
        throw new IOException(error is ELOOP or ENOTDIR
            ? $"'{name}' in the way to '{path}' is a symbolic link or not a directory; nothing is created through it"
            : $"cannot open '{name}' in the way to '{path}': {NativeMethods.StrError(error)}");
    }
}
