using System.Runtime.InteropServices;

namespace SandboxedBuild.Linux;

/// <summary>
/// The libc calls the launcher needs that .NET's <c>Process</c> does not offer: starting bubblewrap in
/// its own process group with default signal dispositions, and handing it an extra descriptor.
/// </summary>
internal static unsafe partial class NativeMethods
{
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
    internal static partial int posix_spawnp(int* pid, byte* file, void* fileActions, void* attr, byte** argv, byte** envp);

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
}
