using System.Globalization;
using System.Runtime.InteropServices;

namespace SandboxedBuild.Interop;

/// <summary>
/// A cgroup of its own for one sandbox, with the pids controller's <c>pids.max</c> as its process
/// bound: the bound that holds for root callers, whom the kernel does not hold to <c>RLIMIT_NPROC</c>.
/// </summary>
/// <remarks>
/// <para>
/// The sandbox's first process joins the cgroup while bubblewrap holds it on <c>--block-fd</c>,
/// so the command and everything it starts are counted (tasks, threads included, as for
/// <c>RLIMIT_NPROC</c>). Inside, the cgroup file system is not mounted (there is no <c>/sys</c>)
/// and bubblewrap's cgroup namespace and dropped capabilities keep it that way: nothing inside can
/// raise the bound or leave the cgroup.
/// </para>
/// <para>
/// Where: on a cgroup v1 pids hierarchy, below the caller's own pids cgroup when the caller may
/// write there (root, or a delegated tree); on the unified (v2) hierarchy, below its root, for a
/// root caller, when the root's <c>cgroup.subtree_control</c> enables pids (a non-root v2 cgroup
/// holding the caller itself cannot have controlled children: that needs a systemd scope, not used yet).
/// </para>
/// </remarks>
internal sealed class PidsCgroup : IDisposable
{
    /// <summary>The prefix of every cgroup made here; stale ones are removed by later runs.</summary>
    public const string NamePrefix = "dotnet-sandbox-";

    /// <summary>A cgroup left by a run that was killed is removed when it is at least this old (and empty).</summary>
    internal static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(1);

    private PidsCgroup(string directory) => Directory = directory;

    /// <summary>The cgroup's directory.</summary>
    public string Directory { get; }

    /// <summary>
    /// Where this process may make a pids cgroup per sandbox, or <see langword="null"/> with the reason why not.
    /// </summary>
    public static (string? Parent, string Why) FindParent(bool callerIsRoot) =>
        FindParent(ReadLines("/proc/self/mountinfo"), ReadLines("/proc/self/cgroup"), callerIsRoot, IsWritableDirectory, ReadFirstLine);

    /// <summary>The decision of <see cref="FindParent(bool)"/> on given contents of <c>/proc/self/mountinfo</c> and <c>/proc/self/cgroup</c>.</summary>
    internal static (string? Parent, string Why) FindParent(
        IReadOnlyList<string>? mountinfo, IReadOnlyList<string>? cgroups, bool callerIsRoot, Func<string, bool> writable, Func<string, string?> readLine)
    {
        if (mountinfo is null || cgroups is null)
        {
            return (null, "cannot read /proc/self/mountinfo or /proc/self/cgroup");
        }

        string? unified = null;
        foreach (var line in mountinfo)
        {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
            var fields = line.Split(' ');
            var dash = Array.IndexOf(fields, "-");
            if (fields.Length < 6 || dash < 6 || dash + 3 > fields.Length)
            {
                continue;
            }

            var (root, point, options, type, super) = (MountInfo.Unescape(fields[3]), MountInfo.Unescape(fields[4]), fields[5], fields[dash + 1], fields[dash + 3]);
            var readOnly = options.Split(',').Contains("ro");
            if (type == "cgroup" && super.Split(',').Contains("pids"))
            {
                var own = cgroups.Select(c => c.Split(':', 3)).FirstOrDefault(c => c.Length == 3 && c[1].Split(',').Contains("pids"))?[2];
                if (own is null || !(own == root || own.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal)))
                {
                    return (null, $"this process's pids cgroup is not below the hierarchy mounted at {point}");
                }

                var dir = Path.Join(point, own[root.TrimEnd('/').Length..]).TrimEnd('/');
                return readOnly || !writable(dir)
                    ? (null, $"the caller may not make cgroups in {dir} (cgroup v1 pids)")
                    : (dir, $"cgroup v1 pids, below {dir}");
            }

            if (type == "cgroup2" && root == "/")
            {
                unified ??= readOnly ? string.Empty : point;
            }
        }

        if (unified is null)
        {
            return (null, "no pids controller: neither a cgroup v1 pids hierarchy nor the unified hierarchy is mounted");
        }

        if (unified.Length == 0 || !callerIsRoot)
        {
            return (null, callerIsRoot
                ? "the unified cgroup hierarchy is mounted read-only"
                : "cgroup v2: a cgroup per sandbox needs a systemd user scope, which is not used yet");
        }

        var controlled = readLine(Path.Join(unified, "cgroup.subtree_control"))?.Split(' ').Contains("pids") == true;
        return controlled && writable(unified)
            ? (unified, $"cgroup v2, below {unified}")
            : (null, $"cgroup v2: the pids controller is not enabled in {unified}/cgroup.subtree_control");
    }

    /// <summary>Makes a fresh cgroup below <paramref name="parent"/> holding at most <paramref name="maxProcesses"/> tasks; removes stale ones first.</summary>
    /// <exception cref="IOException">The cgroup could not be made or bounded (the text says why).</exception>
    public static PidsCgroup Create(string parent, int maxProcesses)
    {
        RemoveStale(parent);
        var dir = Path.Join(parent, NamePrefix + Guid.NewGuid().ToString("N")[..12]);
        if (NativeMethods.MakeDirectory(dir, 0x1ed /* 0755 */) != 0)
        {
            throw new IOException($"mkdir {dir}: {NativeMethods.StrError(Marshal.GetLastPInvokeError())}");
        }

        var cgroup = new PidsCgroup(dir);
        try
        {
            cgroup.Write("pids.max", maxProcesses.ToString(CultureInfo.InvariantCulture));
            var seen = ReadFirstLine(Path.Join(dir, "pids.max"));
            return seen == maxProcesses.ToString(CultureInfo.InvariantCulture)
                ? cgroup
                : throw new IOException($"{dir}/pids.max reads '{seen}' after writing {maxProcesses}");
        }
        catch
        {
            cgroup.Dispose();
            throw;
        }
    }

    /// <summary>Moves <paramref name="pid"/> (and with it, whatever it starts from now on) into the cgroup.</summary>
    /// <exception cref="IOException">The kernel refused.</exception>
    public void Join(int pid) => Write("cgroup.procs", pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>Removes the cgroup once its last task is gone (briefly waiting for the sandbox's tasks to be reaped).</summary>
    public void Dispose()
    {
        for (var attempt = 0; NativeMethods.RemoveDirectory(Directory) != 0 && Marshal.GetLastPInvokeError() == NativeMethods.EBUSY && attempt < 200; attempt++)
        {
            Thread.Sleep(10);
        }
    }

    /// <summary>Removes cgroups of earlier runs that are empty and old enough that no run can still be about to join them.</summary>
    internal static void RemoveStale(string parent)
    {
        try
        {
            foreach (var dir in System.IO.Directory.EnumerateDirectories(parent, NamePrefix + "*"))
            {
                // rmdir of a cgroup fails while it holds a task: a live run's is never removed.
                if (DateTime.UtcNow - System.IO.Directory.GetLastWriteTimeUtc(dir) > StaleAfter)
                {
                    _ = NativeMethods.RemoveDirectory(dir);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void Write(string file, string value)
    {
        // A cgroup file takes one value per write(2).
        try
        {
            using var stream = new FileStream(Path.Join(Directory, file), FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
            stream.Write(System.Text.Encoding.ASCII.GetBytes(value + "\n"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"write {value} to {Directory}/{file}: {ex.Message}", ex);
        }
    }

    private static string[]? ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? ReadFirstLine(string path)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault()?.Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsWritableDirectory(string path) => NativeMethods.Access(path, NativeMethods.W_OK) == 0 && System.IO.Directory.Exists(path);
}
