using System.Runtime.InteropServices;

namespace SandboxedBuild.Linux;

/// <summary><c>statx</c>, whose buffer layout is the same on every architecture (unlike <c>struct stat</c>).</summary>
internal static unsafe partial class NativeMethods
{
    internal const int AT_FDCWD = -100;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const uint STATX_TYPE = 0x1;
    internal const uint STATX_MODE = 0x2;
    internal const uint STATX_UID = 0x8;
    internal const uint STATX_INO = 0x100;
    internal const int S_IFMT = 0xF000;
    internal const int S_IFDIR = 0x4000;
    internal const int S_IFLNK = 0xA000;
    internal const int S_IFREG = 0x8000;

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, StatxBuffer* buffer);

    [LibraryImport("libc")]
    internal static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true)]
    internal static partial nint write(int fd, byte* buffer, nint count);

    /// <summary>The type bits, owner and inode of the entry at <paramref name="path"/> itself (a link is not followed); <see langword="null"/> when it cannot be read.</summary>
    internal static (int Type, uint Uid, ulong Inode, uint DevMajor, uint DevMinor)? Lstat(string path)
    {
        StatxBuffer buffer;
        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_UID | STATX_INO, &buffer) != 0)
        {
            return null;
        }

        return (buffer.Mode & S_IFMT, buffer.Uid, buffer.Inode, buffer.DevMajor, buffer.DevMinor);
    }

    /// <summary>Like <see cref="Lstat"/>, for <paramref name="name"/> in the directory open as <paramref name="directoryFd"/>.</summary>
    internal static (int Type, uint Uid, ulong Inode, uint DevMajor, uint DevMinor)? LstatAt(int directoryFd, string name)
    {
        StatxBuffer buffer;
        if (statx(directoryFd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_UID | STATX_INO, &buffer) != 0)
        {
            return null;
        }

        return (buffer.Mode & S_IFMT, buffer.Uid, buffer.Inode, buffer.DevMajor, buffer.DevMinor);
    }

    /// <summary>The device and inode that <paramref name="path"/> leads to, links followed; <see langword="null"/> when it cannot be read.</summary>
    internal static (ulong Inode, uint DevMajor, uint DevMinor)? StatIdentity(string path)
    {
        StatxBuffer buffer;
        if (statx(AT_FDCWD, path, 0, STATX_INO, &buffer) != 0)
        {
            return null;
        }

        return (buffer.Inode, buffer.DevMajor, buffer.DevMinor);
    }

    /// <summary>struct statx of linux/stat.h, 256 bytes.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(0x14)]
        public uint Uid;

        [FieldOffset(0x1C)]
        public ushort Mode;

        [FieldOffset(0x20)]
        public ulong Inode;

        [FieldOffset(0x88)]
        public uint DevMajor;

        [FieldOffset(0x8C)]
        public uint DevMinor;
    }
}
