using System.Runtime.InteropServices;

namespace SandboxedBuild.Linux;

/// <summary><c>mkdir</c>, <c>rmdir</c> and <c>access</c> by path, with their errors (for cgroup directories, which no sandbox can reach).</summary>
internal static unsafe partial class NativeMethods
{
    internal const int EBUSY = 16;
    internal const int W_OK = 2;

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MakeDirectory(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int RemoveDirectory(string path);

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Access(string path, int mode);
}
