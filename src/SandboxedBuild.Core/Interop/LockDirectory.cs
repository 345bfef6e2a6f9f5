using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Interop;

/// <summary>
/// The caller's directory of lock files that keep concurrent runs apart:
/// <c>/tmp/dotnet-sandbox-locks-UID</c>, mode 0700, owned by the caller.
/// </summary>
/// <remarks>
/// <para>
/// Always under <c>/tmp</c>, never <c>$TMPDIR</c> or <c>$XDG_RUNTIME_DIR</c>: two runs of one user
/// must find the same locks whatever their environment, or they would not see each other. Not in
/// the repository, which the sandbox writes; and no sandbox sees the host's <c>/tmp</c> (its own is
/// a private tmpfs, and no policy may make it writable: a policy that would make this directory
/// writable is refused, SBX4011).
/// </para>
/// <para>
/// It is trusted only if it is a real directory (not a link), owned by the caller, with no access
/// for group or others; anything else is SBX4011 and nothing runs. Another user who creates it
/// first can stop the caller's runs, but never make them unsafe.
/// </para>
/// </remarks>
internal static class LockDirectory
{
    /// <summary>The directory's path for the caller.</summary>
    public static string PathForCaller() => "/tmp/dotnet-sandbox-locks-" + NativeMethods.geteuid().ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Creates the directory if missing and checks it; its path.</summary>
    /// <param name="directory">Where, <see cref="PathForCaller"/> unless given (tests).</param>
    /// <exception cref="SandboxException">SBX4011: it is not the caller's private directory.</exception>
    public static string Ensure(string? directory = null)
    {
        var dir = directory ?? PathForCaller();
        if (NativeMethods.MakeDirectory(dir, Convert.ToInt32("700", 8)) != 0 && Marshal.GetLastPInvokeError() is var error && error != NativeMethods.EEXIST)
        {
            throw new SandboxException(Errors.Errors.LockDirectoryUnsafe, dir, "it cannot be created: " + NativeMethods.StrError(error));
        }

        var st = NativeMethods.LstatWithMode(dir);
        var problem = st switch
        {
            null => "it cannot be read",
            { Type: NativeMethods.S_IFLNK } => "it is a symbolic link",
            { Type: not NativeMethods.S_IFDIR } => "it is not a directory",
            { } s when s.Uid != NativeMethods.geteuid() => "it belongs to uid " + s.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            { } s when (s.Permissions & Convert.ToInt32("077", 8)) != 0 => "others have access to it (mode " + Convert.ToString(s.Permissions, 8) + ")",
            _ => null,
        };
        return problem is null ? dir : throw new SandboxException(Errors.Errors.LockDirectoryUnsafe, dir, problem);
    }

    /// <summary>
    /// Whether <paramref name="path"/> is an empty placeholder that a run (a concurrent one, or a
    /// killed one not yet swept) made to hold a protected name, still as made. A policy must treat
    /// it as the missing name it holds: a placeholder <c>.git</c> is no repository to make writable.
    /// </summary>
    public static bool IsPlaceholder(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var dir = PathForCaller();
        if (NativeMethods.LstatWithMode(dir) is not { Type: NativeMethods.S_IFDIR } st || st.Uid != NativeMethods.geteuid() || (st.Permissions & Convert.ToInt32("077", 8)) != 0)
        {
            return false;
        }

        try
        {
            return PlaceholderLease.IsPlaceholder(path, dir);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>A lock file's name for a key (a path): a prefix and a hash of it.</summary>
    public static string FileFor(string directory, string prefix, string key) =>
        System.IO.Path.Combine(directory, prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32] + ".lock");
}
