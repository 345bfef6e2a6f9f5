using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Interop;

/// <summary>
/// Reads a file that a sandboxed process could have written or replaced (evaluation results, what a
/// restore generates in <c>obj/</c>, project files in a writable tree) without following a link,
/// blocking on a FIFO or device, or reading without end.
/// </summary>
/// <remarks>
/// The entry must be a regular file by <c>lstat</c>; it is opened with
/// <c>O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC</c>, and the open descriptor must be the same inode on
/// the same device, still a regular file; at most the cap is read. Anything else is SBX3018, naming
/// the file: a link planted in place of a result cannot make the tool print what it points to, and
/// a link to <c>/dev/zero</c> or a FIFO cannot make it hang.
/// </remarks>
public static class SafeFile
{
    /// <summary>The cap for most files: evaluation results, generated props and targets, project files.</summary>
    public const int DefaultMaxBytes = 4 * 1024 * 1024;

    /// <summary>The cap for NuGet's own records (<c>project.assets.json</c>, <c>project.nuget.cache</c>), which list every package file.</summary>
    public const int LargeMaxBytes = 16 * 1024 * 1024;

    private const int Chunk = 64 * 1024;

    /// <summary>The bytes of <paramref name="path"/>.</summary>
    /// <param name="path">An absolute path.</param>
    /// <param name="maxBytes">The most that is read; a longer file is refused.</param>
    /// <param name="followLinks">Follow a link at <paramref name="path"/> itself (for files no sandbox can replace); what it leads to must still be a regular file.</param>
    /// <exception cref="SandboxException">SBX3018: not a regular file, or longer than the cap.</exception>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    public static byte[] ReadAllBytes(string path, int maxBytes, bool followLinks = false) =>
        TryReadAllBytes(path, maxBytes, followLinks) ?? throw new FileNotFoundException($"'{path}' does not exist", path);

    /// <summary>The text of <paramref name="path"/>, as UTF-8 (a byte order mark is dropped).</summary>
    /// <inheritdoc cref="ReadAllBytes" path="/param"/>
    /// <exception cref="SandboxException">SBX3018: not a regular file, or longer than the cap.</exception>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    public static string ReadAllText(string path, int maxBytes, bool followLinks = false) => Decode(ReadAllBytes(path, maxBytes, followLinks));

    /// <summary>Like <see cref="ReadAllText"/>, but <see langword="null"/> when nothing is there.</summary>
    /// <inheritdoc cref="ReadAllBytes" path="/param"/>
    /// <exception cref="SandboxException">SBX3018: not a regular file, or longer than the cap.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    public static string? TryReadAllText(string path, int maxBytes, bool followLinks = false) =>
        TryReadAllBytes(path, maxBytes, followLinks) is { } bytes ? Decode(bytes) : null;

    /// <summary>Like <see cref="ReadAllBytes"/>, but <see langword="null"/> when nothing is there (a missing input is not an attack).</summary>
    /// <inheritdoc cref="ReadAllBytes" path="/param"/>
    /// <exception cref="SandboxException">SBX3018: not a regular file, or longer than the cap.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    public static byte[]? TryReadAllBytes(string path, int maxBytes, bool followLinks = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        return OperatingSystem.IsLinux() ? ReadLinux(path, maxBytes, followLinks) : ReadPortable(path, maxBytes, followLinks);
    }

    /// <summary>
    /// Whether <paramref name="path"/> exists, checking without opening it that it is what
    /// <see cref="TryReadAllBytes"/> would read: a regular file (by <c>lstat</c>, or at the end of its
    /// links with <paramref name="followLinks"/>). For the inputs an evaluation inside a sandbox will
    /// import: a plant must stop the run before MSBuild blocks on it.
    /// </summary>
    /// <exception cref="SandboxException">SBX3018: a link, FIFO, device, socket or directory.</exception>
    public static bool Check(string path, bool followLinks = false)
    {
        if (!OperatingSystem.IsLinux())
        {
            var info = new FileInfo(path);
            return info.LinkTarget is { } target && !followLinks ? throw Refused(path, "a symbolic link to '" + target + "'") : info.Exists || (Directory.Exists(path) ? throw Refused(path, "a directory") : false);
        }

        var entry = NativeMethods.Lstat(path);
        if (entry is null)
        {
            var error = Marshal.GetLastPInvokeError();
            return error is NativeMethods.ENOENT or NativeMethods.ENOTDIR ? false : throw Failure(path, error);
        }

        if (entry.Value.Type == NativeMethods.S_IFLNK)
        {
            if (!followLinks)
            {
                throw Refused(path, "a symbolic link to '" + (new FileInfo(path).LinkTarget ?? "?") + "'");
            }

            var type = NativeMethods.StatType(path);
            return type is null ? false : type == NativeMethods.S_IFREG ? true : throw Refused(path, Describe(type.Value));
        }

        return entry.Value.Type == NativeMethods.S_IFREG ? true : throw Refused(path, Describe(entry.Value.Type));
    }

    private static unsafe byte[]? ReadLinux(string path, int maxBytes, bool followLinks)
    {
        var entry = NativeMethods.Lstat(path);
        if (entry is null)
        {
            var error = Marshal.GetLastPInvokeError();
            return error is NativeMethods.ENOENT or NativeMethods.ENOTDIR ? null : throw Failure(path, error);
        }

        if (entry.Value.Type == NativeMethods.S_IFLNK && !followLinks)
        {
            throw Refused(path, "a symbolic link to '" + (new FileInfo(path).LinkTarget ?? "?") + "'");
        }

        if (entry.Value.Type is not (NativeMethods.S_IFREG or NativeMethods.S_IFLNK))
        {
            throw Refused(path, Describe(entry.Value.Type));
        }

        var flags = NativeMethods.O_RDONLY | NativeMethods.O_NONBLOCK | NativeMethods.O_CLOEXEC | (followLinks ? 0 : NativeMethods.O_NOFOLLOW);
        var fd = NativeMethods.OpenFile(path, flags);
        if (fd < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            throw error switch
            {
                NativeMethods.ELOOP => Refused(path, "a symbolic link (it was replaced while it was being opened)"),
                NativeMethods.ENOENT => new FileNotFoundException($"'{path}' disappeared while it was being opened", path),
                _ => Failure(path, error),
            };
        }

        try
        {
            var opened = NativeMethods.Fstat(fd) ?? throw Failure(path, Marshal.GetLastPInvokeError());
            if (opened.Type != NativeMethods.S_IFREG)
            {
                throw Refused(path, Describe(opened.Type));
            }

            if (!followLinks && (opened.Inode != entry.Value.Inode || opened.DevMajor != entry.Value.DevMajor || opened.DevMinor != entry.Value.DevMinor))
            {
                throw Refused(path, "a file that was replaced while it was being opened");
            }

            using var content = new MemoryStream();
            var buffer = new byte[Chunk];
            fixed (byte* p = buffer)
            {
                while (true)
                {
                    var read = NativeMethods.Read(fd, p, Chunk);
                    if (read < 0)
                    {
                        var error = Marshal.GetLastPInvokeError();
                        if (error == NativeMethods.EINTR)
                        {
                            continue;
                        }

                        throw Failure(path, error);
                    }

                    if (read == 0)
                    {
                        return content.ToArray();
                    }

                    if (content.Length + read > maxBytes)
                    {
                        throw Refused(path, "larger than " + Size(maxBytes));
                    }

                    content.Write(buffer, 0, (int)read);
                }
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    // Without the Linux calls: the same refusals from what .NET reports (no descriptor check).
    private static byte[]? ReadPortable(string path, int maxBytes, bool followLinks)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target)
        {
            if (!followLinks)
            {
                throw Refused(path, "a symbolic link to '" + target + "'");
            }

            info = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? throw Refused(path, "a symbolic link to something that is not a file");
        }

        if (!info.Exists)
        {
            return Directory.Exists(info.FullName) ? throw Refused(path, "a directory") : null;
        }

        if ((info.Attributes & (FileAttributes.Device | FileAttributes.Directory)) != 0)
        {
            throw Refused(path, "not a regular file");
        }

        using var stream = new FileStream(info.FullName, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Options = FileOptions.None });
        using var content = new MemoryStream();
        var buffer = new byte[Chunk];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            if (content.Length + read > maxBytes)
            {
                throw Refused(path, "larger than " + Size(maxBytes));
            }

            content.Write(buffer, 0, read);
        }

        return content.ToArray();
    }

    private static string Decode(byte[] bytes) =>
        bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3) : Encoding.UTF8.GetString(bytes);

    private static string Describe(int type) => type switch
    {
        NativeMethods.S_IFDIR => "a directory",
        0x1000 => "a named pipe (FIFO)",
        0x2000 => "a character device",
        0x6000 => "a block device",
        0xC000 => "a socket",
        _ => "not a regular file",
    };

    private static string Size(int bytes) => bytes % (1024 * 1024) == 0
        ? (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + " MiB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " bytes";

    // The path and a link's target are the sandbox's words too: printed with control characters escaped.
    private static SandboxException Refused(string path, string what) =>
        new(Errors.Errors.UnsafeFileRefused, TerminalText.Escape(path, 4096), TerminalText.Escape(what, 4096));

    private static IOException Failure(string path, int errno) => new($"cannot read '{path}': {NativeMethods.StrError(errno)}");
}
