using System.Runtime.InteropServices;

namespace SandboxedBuild.Linux;

/// <summary><c>open</c> with flags .NET does not expose (<c>O_NOFOLLOW</c>, <c>O_NONBLOCK</c>), <c>read</c>, and <c>statx</c> of an open descriptor.</summary>
internal static unsafe partial class NativeMethods
{
    internal const int O_RDONLY = 0;
    internal const int O_NOFOLLOW = 0x20000;
    internal const int O_CLOEXEC = 0x80000;
    internal const int AT_EMPTY_PATH = 0x1000;
    internal const int ENOENT = 2;
    internal const int ENOTDIR = 20;
    internal const int ELOOP = 40;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int OpenFile(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, byte* buffer, nuint count);

    /// <summary>The type bits of what <paramref name="path"/> leads to, links followed; <see langword="null"/> when it cannot be read.</summary>
    internal static int? StatType(string path)
    {
        StatxBuffer buffer;
        return statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_MODE, &buffer) != 0 ? null : buffer.Mode & S_IFMT;
    }

    /// <summary>The type bits, inode and device of the open descriptor <paramref name="fd"/>; <see langword="null"/> when it cannot be read.</summary>
    internal static (int Type, ulong Inode, uint DevMajor, uint DevMinor)? Fstat(int fd)
    {
        StatxBuffer buffer;
        if (statx(fd, string.Empty, AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_INO, &buffer) != 0)
        {
            return null;
        }

        return (buffer.Mode & S_IFMT, buffer.Inode, buffer.DevMajor, buffer.DevMinor);
    }
}
