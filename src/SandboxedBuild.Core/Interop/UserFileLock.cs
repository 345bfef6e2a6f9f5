using SandboxedBuild.Errors;

namespace SandboxedBuild.Interop;

/// <summary>
/// Read-modify-write of the user's own files (the trust store, the saved hosts) by concurrent runs:
/// an exclusive lock on a file next to them for the whole read, merge and write, and a write that
/// replaces the file atomically, so that no approval is lost to another made at the same moment and
/// no reader ever sees half a file.
/// </summary>
/// <remarks>
/// The files live in the user's configuration directory, which no sandbox sees (the home directory
/// is private inside). The lock is .NET's <see cref="FileShare.None"/>, an advisory <c>flock</c> on
/// Unix that the kernel drops when the process dies, so a killed run leaves no stale lock.
/// </remarks>
internal static class UserFileLock
{
    /// <summary>How long a run waits for another to finish writing before giving up (SBX3025).</summary>
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Takes the lock of <paramref name="file"/> (<c>FILE.lock</c>), waiting up to <see cref="Patience"/>.</summary>
    /// <exception cref="SandboxException">SBX3025: another run holds it for too long.</exception>
    public static IDisposable Acquire(string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                return new FileStream(file + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline && File.Exists(file + ".lock"))
            {
                Thread.Sleep(Random.Shared.Next(5, 25));
            }
            catch (IOException ex)
            {
                throw new SandboxException(Errors.Errors.UserFileLocked, file, ex.Message);
            }
        }
    }

    /// <summary>Replaces <paramref name="file"/> with <paramref name="bytes"/>: written to a temporary file of this process's own, then renamed over it.</summary>
    public static void WriteAtomically(string file, byte[] bytes)
    {
        var temp = $"{file}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write }))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, file, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
