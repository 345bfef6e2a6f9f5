using System.Runtime.InteropServices;

namespace SandboxedBuild.Linux;

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
    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000;
    private const int O_NOFOLLOW = 0x20000;
    private const int O_CLOEXEC = 0x80000;
    private const int EEXIST = 17;
    private const int ELOOP = 40;
    private const int ENOTDIR = 20;

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

    private static int Open(int directoryFd, string name, string path)
    {
        var fd = directoryFd < 0 ? open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : openat(directoryFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
        {
            return fd;
        }

        var error = Marshal.GetLastPInvokeError();
        throw new IOException(error is ELOOP or ENOTDIR
            ? $"'{name}' in the way to '{path}' is a symbolic link or not a directory; nothing is created through it"
            : $"cannot open '{name}' in the way to '{path}': {NativeMethods.StrError(error)}");
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int openat(int dirfd, string path, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mkdirat(int dirfd, string path, int mode);
}
