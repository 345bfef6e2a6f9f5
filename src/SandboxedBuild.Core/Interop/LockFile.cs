using System.Runtime.InteropServices;
using System.Text;
using static SandboxedBuild.Interop.NativeMethods;

namespace SandboxedBuild.Interop;

/// <summary>
/// A small file held open with <c>flock(2)</c>: a shared or exclusive lock that the kernel drops when
/// the descriptor is closed, so also when the process holding it is killed. Its few bytes of text
/// may say what it guards.
/// </summary>
/// <remarks>
/// Opened with <c>O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC</c>; the open descriptor must be a regular file owned
/// by the caller, so neither a link nor a FIFO nor another user's file planted under its name is
/// ever locked, read or written. Lock files live in <see cref="LockDirectory"/>, or next to a private
/// directory of the caller's in the temporary directory, never where a sandbox can write.
/// </remarks>
internal sealed unsafe class LockFile : IDisposable
{
    private const int MaxBytes = 16 * 1024;
    private int _fd;

    private LockFile(int fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    /// <summary>The path it was opened at.</summary>
    public string Path { get; }

    /// <summary>Opens (with <paramref name="create"/>, creates, mode 0600) the lock file at <paramref name="path"/>; <see langword="null"/> when it does not exist.</summary>
    /// <param name="path">An absolute path.</param>
    /// <param name="create">Create it if missing.</param>
    /// <param name="exclusiveCreate">Fail (return <see langword="null"/>) if it exists already.</param>
    /// <exception cref="IOException">It is a link, not a regular file, not the caller's, or cannot be opened.</exception>
    public static LockFile? Open(string path, bool create, bool exclusiveCreate = false)
    {
        var flags = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (create ? O_CREAT : 0) | (exclusiveCreate ? O_EXCL : 0);
        var fd = OpenFile(path, flags, Convert.ToInt32("600", 8));
        if (fd < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            return error == ENOENT && !create ? null
                : error == EEXIST && exclusiveCreate ? null
                : throw new IOException($"cannot open the lock file '{path}': {(error == ELOOP ? "it is a symbolic link" : StrError(error))}");
        }

        var st = FstatOwner(fd);
        if (st is not { Type: S_IFREG } || st.Value.Uid != geteuid())
        {
            _ = close(fd);
            throw new IOException($"the lock file '{path}' is not a regular file of yours");
        }

        return new LockFile(fd, path);
    }

    /// <summary>Takes the lock, waiting for it.</summary>
    public void Lock(bool exclusive)
    {
        while (flock(_fd, exclusive ? LOCK_EX : LOCK_SH) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            if (error != EINTR)
            {
                throw new IOException($"cannot lock '{Path}': {StrError(error)}");
            }
        }
    }

    /// <summary>
    /// Takes the lock if no one else holds a conflicting one. A shared lock this descriptor holds is
    /// converted; when that fails it is lost (flock(2) converts by dropping and retaking).
    /// </summary>
    public bool TryLock(bool exclusive)
    {
        while (flock(_fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            if (error == EWOULDBLOCK)
            {
                return false;
            }

            if (error != EINTR)
            {
                throw new IOException($"cannot lock '{Path}': {StrError(error)}");
            }
        }

        return true;
    }

    /// <summary>Whether the name still leads to the very file open here (not unlinked or replaced meanwhile).</summary>
    public bool StillAt()
    {
        var open = FstatOwner(_fd);
        var named = Lstat(Path);
        return open is { } o && named is { } n && n.Type == S_IFREG && o.Inode == n.Inode && o.DevMajor == n.DevMajor && o.DevMinor == n.DevMinor;
    }

    /// <summary>Its text (at most 16 KiB, as UTF-8).</summary>
    public string Read()
    {
        var buffer = new byte[MaxBytes];
        var total = 0;
        fixed (byte* p = buffer)
        {
            while (total < buffer.Length)
            {
                var n = pread(_fd, p + total, (nuint)(buffer.Length - total), total);
                if (n < 0 && Marshal.GetLastPInvokeError() == EINTR)
                {
                    continue;
                }

                if (n <= 0)
                {
                    break;
                }

                total += (int)n;
            }
        }

        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    /// <summary>Replaces its text.</summary>
    public void Write(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > MaxBytes || ftruncate(_fd, 0) != 0)
        {
            throw new IOException($"cannot write the lock file '{Path}'");
        }

        fixed (byte* p = bytes)
        {
            var done = 0;
            while (done < bytes.Length)
            {
                var n = pwrite(_fd, p + done, (nuint)(bytes.Length - done), done);
                if (n < 0 && Marshal.GetLastPInvokeError() == EINTR)
                {
                    continue;
                }

                if (n <= 0)
                {
                    throw new IOException($"cannot write the lock file '{Path}': {StrError(Marshal.GetLastPInvokeError())}");
                }

                done += (int)n;
            }
        }
    }

    /// <summary>Removes the name if it still leads to this file. Only while holding the lock that makes that safe.</summary>
    public void Unlink()
    {
        if (StillAt())
        {
            _ = NativeMethods.Unlink(Path);
        }
    }

    /// <summary>Closes the descriptor, which drops the lock.</summary>
    public void Dispose()
    {
        if (_fd >= 0)
        {
            _ = close(_fd);
            _fd = -1;
        }
    }
}
