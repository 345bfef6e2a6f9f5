using System.Runtime.InteropServices;

namespace SandboxedBuild.Policy;

/// <summary>The few facts about the host file system that policy building and the backends need.</summary>
/// <remarks>An interface so that the pure parts (policy, argument vectors) are tested against a fake.</remarks>
public interface IFileSystem
{
    /// <summary>Whether a directory (or a symbolic link to one) exists at the path.</summary>
    bool DirectoryExists(string path);

    /// <summary>Whether anything that is not a directory exists at the path.</summary>
    bool FileExists(string path);

    /// <summary>The raw target of a symbolic link at the path, or <see langword="null"/> if it is not a link.</summary>
    string? LinkTarget(string path);

    /// <summary>Whether the caller may create entries in the directory.</summary>
    bool IsWritableDirectory(string path);

    /// <summary>Whether the file at the path is a regular file the caller may execute.</summary>
    bool IsExecutableFile(string path);
}

/// <summary>The real file system.</summary>
public sealed class HostFileSystem : IFileSystem
{
    /// <summary>The shared instance.</summary>
    public static HostFileSystem Instance { get; } = new();

    /// <inheritdoc/>
    public bool DirectoryExists(string path) => Directory.Exists(path);

    /// <inheritdoc/>
    public bool FileExists(string path) => File.Exists(path) || (LinkTarget(path) is not null && !Directory.Exists(path));

    /// <inheritdoc/>
    /// <remarks>One readlink(2) call (EINVAL for anything that is not a link): the path checks call this for every component of every bind source.</remarks>
    public unsafe string? LinkTarget(string path)
    {
        const int size = 4096;
        var buffer = stackalloc byte[size];
        var length = Interop.NativeMethods.ReadLink(path, buffer, size);
        return length switch
        {
            <= 0 => null,
            < size => System.Text.Encoding.UTF8.GetString(buffer, (int)length),
            // The kernel caps targets below 4096 bytes; should one ever not fit, it is still a link.
            _ => new FileInfo(path).LinkTarget ?? "/",
        };
    }

    /// <inheritdoc/>
    public bool IsWritableDirectory(string path) => Directory.Exists(path) && Interop.NativeMethods.Access(path, Interop.NativeMethods.W_OK) == 0;

    /// <inheritdoc/>
    public bool IsExecutableFile(string path) => File.Exists(path) && Interop.NativeMethods.Access(path, Interop.NativeMethods.X_OK) == 0;
}
