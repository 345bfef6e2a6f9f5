using SandboxedBuild.Policy;

namespace SandboxedBuild.Core.Tests;

/// <summary>An in-memory host: directories, files, links; every directory is writable unless listed read-only.</summary>
internal sealed class FakeFileSystem : IFileSystem
{
    private readonly HashSet<string> _dirs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _files = new(StringComparer.Ordinal);
    private readonly HashSet<string> _executables = new(StringComparer.Ordinal);
    private readonly HashSet<string> _readOnlyDirs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);

    public FakeFileSystem Dir(params string[] paths)
    {
        foreach (var path in paths)
        {
            for (var p = path; p.Length > 1; p = Path.GetDirectoryName(p)!)
            {
                _dirs.Add(p);
            }
        }

        return this;
    }

    public FakeFileSystem File(string path, bool executable = false)
    {
        Dir(Path.GetDirectoryName(path)!);
        _files.Add(path);
        if (executable)
        {
            _executables.Add(path);
        }

        return this;
    }

    public FakeFileSystem Link(string path, string target)
    {
        _links[path] = target;
        return this;
    }

    public FakeFileSystem ReadOnlyDir(string path)
    {
        Dir(path);
        _readOnlyDirs.Add(path);
        return this;
    }

    /// <summary>A typical Debian host with merged /usr, dotnet in /usr/share/dotnet and a user's home.</summary>
    public static FakeFileSystem Debian(string home = "/home/dev") => new FakeFileSystem()
        .Dir("/usr/bin", "/usr/lib", "/usr/share/dotnet", "/etc/ssl/private", "/etc/ssh", "/opt", "/tmp", "/var/tmp", "/dev/shm")
        .Link("/bin", "usr/bin").Link("/lib", "usr/lib").Link("/sbin", "usr/sbin").Link("/lib64", "usr/lib64")
        .File("/etc/shadow").File("/etc/passwd")
        .File("/usr/bin/sh", executable: true).File("/usr/bin/true", executable: true)
        .File("/usr/share/dotnet/dotnet", executable: true).Link("/usr/bin/dotnet", "../share/dotnet/dotnet")
        .Dir(home + "/.nuget/packages", home + "/.ssh", home + "/src/app")
        .File(home + "/.ssh/id_ed25519");

    public bool DirectoryExists(string path) => path == "/" || _dirs.Contains(path) || (_links.TryGetValue(path, out var t) && _dirs.Contains(Resolve(path, t)));

    public bool FileExists(string path) => _files.Contains(path) || (_links.TryGetValue(path, out var t) && !_dirs.Contains(Resolve(path, t)));

    public string? LinkTarget(string path) => _links.GetValueOrDefault(path);

    public bool IsWritableDirectory(string path) => DirectoryExists(path) && !_readOnlyDirs.Contains(path);

    public bool IsExecutableFile(string path) =>
        _executables.Contains(path) || (_links.TryGetValue(path, out var t) && _executables.Contains(Resolve(path, t)));

    private static string Resolve(string path, string target) => PathUtil.Normalize(target, Path.GetDirectoryName(path)!);
}
