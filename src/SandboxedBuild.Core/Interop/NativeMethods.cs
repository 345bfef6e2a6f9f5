using System.Runtime.InteropServices;

namespace SandboxedBuild.Interop;

/// <summary>
/// Every libc call SandboxedBuild makes, in one place: starting processes (in their own process
/// group, with default signal dispositions), signals and waiting, pipes, splice and sockets, files
/// by descriptor without following links, locks, directories, resource limits and file system
/// statistics. Everything else in the library calls these, never libc itself.
/// </summary>
/// <remarks>Linux (glibc or musl) on 64-bit: the constants and buffer layouts are Linux's.</remarks>
internal static unsafe partial class NativeMethods
{
    // ---- Processes: posix_spawn, signals, waitpid
    internal const int SIGHUP = 1;
    internal const int SIGINT = 2;
    internal const int SIGQUIT = 3;
    internal const int SIGKILL = 9;
    internal const int SIGPIPE = 13;
    internal const int SIGTERM = 15;

    internal const short POSIX_SPAWN_SETPGROUP = 0x02;
    internal const short POSIX_SPAWN_SETSIGDEF = 0x04;
    internal const short POSIX_SPAWN_SETSIGMASK = 0x08;

    internal const int F_SETFD = 2;
    internal const int FD_CLOEXEC = 1;
    internal const int EINTR = 4;

    // posix_spawnattr_t is 336 bytes and sigset_t 128 bytes with glibc on 64-bit Linux; musl's are
    // smaller. Buffers of this size hold either.
    internal const int SpawnAttrSize = 1024;
    internal const int SigSetSize = 256;

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int pipe(int* fds);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport("libc")]
    internal static partial int posix_spawnattr_init(void* attr);

    [LibraryImport("libc")]
    internal static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport("libc")]
    internal static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport("libc")]
    internal static partial int posix_spawnattr_setpgroup(void* attr, int pgroup);

    [LibraryImport("libc")]
    internal static partial int posix_spawnattr_setsigdefault(void* attr, void* sigset);

    [LibraryImport("libc")]
    internal static partial int posix_spawnattr_setsigmask(void* attr, void* sigset);

    [LibraryImport("libc")]
    internal static partial int sigemptyset(void* set);

    [LibraryImport("libc")]
    internal static partial int sigaddset(void* set, int signo);

    [LibraryImport("libc")]
    internal static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    internal const int FileActionsSize = 512;
    internal const int O_RDWR = 2;

    [LibraryImport("libc")]
    internal static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    internal static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc")]
    internal static partial int posix_spawn_file_actions_addopen(void* actions, int fd, byte* path, int flags, int mode);

    [LibraryImport("libc")]
    internal static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport("libc")]
    internal static partial int posix_spawnp(int* pid, byte* file, void* fileActions, void* attr, byte** argv, byte** envp);

    // ---- Descriptors, pipes, splice and sockets

    internal const int F_GETFL = 3;
    internal const int F_SETFL = 4;
    internal const int F_SETPIPE_SZ = 1031;
    internal const int O_NONBLOCK = 0x800;
    internal const uint SPLICE_F_MOVE = 1;

    [LibraryImport("libc", SetLastError = true)]
    internal static partial nint splice(int fdIn, long* offIn, int fdOut, long* offOut, nuint length, uint flags);

    [LibraryImport("libc", EntryPoint = "shutdown")]
    private static partial int shutdown_native(int socket, int how);

    internal static void ShutdownWrite(int socket) => _ = shutdown_native(socket, 1);

    internal static void ShutdownBoth(int socket) => _ = shutdown_native(socket, 2);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint signal_native(int signum, nint handler);

    /// <summary>Sets the disposition of <paramref name="signum"/> to SIG_IGN.</summary>
    internal static void IgnoreSignal(int signum) => _ = signal_native(signum, 1);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int kill(int pid, int sig);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial byte* strerror_native(int errnum);

    internal static string StrError(int errno) => Marshal.PtrToStringUTF8((nint)strerror_native(errno)) ?? $"errno {errno}";

    // ---- statx, whose buffer layout is the same on every architecture (unlike struct stat).

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

    // ---- open with flags .NET does not expose (O_NOFOLLOW, O_NONBLOCK), read, and statx of an open descriptor.

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

    // ---- flock, and what a lock file needs around it: open with a mode, positioned read and write, truncate, unlink.

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

    // ---- rmdir and access by path, with their errors (for cgroup directories, which no sandbox can reach).

    internal const int EBUSY = 16;
    internal const int X_OK = 1;
    internal const int W_OK = 2;

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int RemoveDirectory(string path);

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Access(string path, int mode);

    // ---- Files by descriptor (openat, mkdirat, unlinkat), links, sockets' control messages, resource limits, file system statistics

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int openat(int dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int openat(int dirfd, string path, int flags, int mode);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int unlinkat(int dirfd, string path, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int mkdirat(int dirfd, string path, int mode);

    [StructLayout(LayoutKind.Sequential)]
    internal struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "prlimit", SetLastError = true)]
    internal static partial int prlimit(int pid, int resource, RLimit* newLimit, RLimit* oldLimit);

    [LibraryImport("libc", EntryPoint = "getuid")]
    internal static partial uint getuid();

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int statvfs(string path, ulong* buffer);

    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", SetLastError = true)]
    internal static partial nint sendmsg(int socket, MsgHdr* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial nint recvmsg(int socket, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "readlink", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint ReadLink(string path, byte* buffer, nint size);
}
