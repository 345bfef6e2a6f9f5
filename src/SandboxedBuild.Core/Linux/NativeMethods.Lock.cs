using System.Runtime.InteropServices;

namespace SandboxedBuild.Linux;

/// <summary><c>flock</c>, and what a lock file needs around it: open with a mode, positioned read and write, truncate, unlink.</summary>
internal static unsafe partial class NativeMethods
{
    internal const int LOCK_SH = 1;
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;
    internal const int EWOULDBLOCK = 11;
    internal const int EEXIST = 17;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int OpenFile(string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int flock(int fd, int operation);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial nint pread(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial nint pwrite(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "unlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "mkdir", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int MakeDirectory(string path, int mode);

    /// <summary>The type bits, permission bits, owner and inode of the entry at <paramref name="path"/> itself (a link is not followed).</summary>
    internal static (int Type, int Permissions, uint Uid, ulong Inode, uint DevMajor, uint DevMinor)? LstatWithMode(string path)
    {
        StatxBuffer buffer;
        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_UID | STATX_INO, &buffer) != 0)
        {
            return null;
        }

        return (buffer.Mode & S_IFMT, buffer.Mode & 0xFFF, buffer.Uid, buffer.Inode, buffer.DevMajor, buffer.DevMinor);
    }

    private const uint STATX_SIZE = 0x200;
    private const uint STATX_BTIME = 0x800;

    /// <summary>
    /// The size and birth time (0 where the file system keeps none) of the entry at <paramref name="path"/>
    /// itself: an inode number is reused as soon as it is freed, its birth time is not.
    /// </summary>
    internal static (ulong Size, long BirthSeconds, uint BirthNanoseconds)? SizeAndBirth(string path)
    {
        byte* buffer = stackalloc byte[256];
        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_SIZE | STATX_BTIME, (StatxBuffer*)buffer) != 0)
        {
            return null;
        }

        var mask = *(uint*)buffer;
        return (*(ulong*)(buffer + 0x28), (mask & STATX_BTIME) != 0 ? *(long*)(buffer + 0x50) : 0, (mask & STATX_BTIME) != 0 ? *(uint*)(buffer + 0x58) : 0);
    }

    /// <summary>The type bits, owner and inode of the open descriptor <paramref name="fd"/>.</summary>
    internal static (int Type, uint Uid, ulong Inode, uint DevMajor, uint DevMinor)? FstatOwner(int fd)
    {
        StatxBuffer buffer;
        if (statx(fd, string.Empty, AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_UID | STATX_INO, &buffer) != 0)
        {
            return null;
        }

        return (buffer.Mode & S_IFMT, buffer.Uid, buffer.Inode, buffer.DevMajor, buffer.DevMinor);
    }
}
