using System.Runtime.InteropServices;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Linux;

/// <summary>
/// Looks at the sandbox's private tmpfs mounts (its home, /tmp, /var/tmp, /dev/shm) while the
/// command runs, to say afterwards which of them filled up: a write past the <c>--size</c> bound
/// fails inside with ENOSPC ("No space left on device"), which a build reports in words that do not
/// point at the bound.
/// </summary>
/// <remarks>
/// The mounts are read through <c>/proc/INIT/root</c> with statvfs(2) only, a few times a second, on
/// a background thread: nothing is written and nothing waits on the sandbox, so a full tmpfs cannot
/// make the tool hang. The sandboxed side can make a mount look full (by filling it), which only
/// earns it a warning. A tmpfs filled and emptied between two looks goes unnoticed.
/// </remarks>
internal sealed class TmpfsWatch(IReadOnlyList<string> mounts)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    private readonly object _gate = new();
    private readonly SortedSet<string> _full = new(StringComparer.Ordinal);
    // Stop wakes the looking thread, which waits on this between looks: a run ends without waiting out an interval.
    private readonly object _wake = new();
    private bool _stopped;
    private Thread? _thread;

    /// <summary>The mounts seen full, in the sandbox's own paths.</summary>
    public IReadOnlyList<string> Full
    {
        get
        {
            lock (_gate)
            {
                return [.. _full];
            }
        }
    }

    /// <summary>Starts looking at the mounts of the sandbox whose init is <paramref name="init"/>.</summary>
    public void Start(int init)
    {
        if (mounts.Count == 0 || init <= 0)
        {
            return;
        }

        var root = "/proc/" + init.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/root";
        _thread = new Thread(() =>
        {
            while (true)
            {
                Look(root);
                lock (_wake)
                {
                    if (_stopped || (Monitor.Wait(_wake, Interval) && _stopped))
                    {
                        return;
                    }
                }
            }
        })
        { IsBackground = true, Name = "tmpfs-watch" };
        _thread.Start();
    }

    /// <summary>Stops looking; what was seen stays in <see cref="Full"/>.</summary>
    public void Stop()
    {
        lock (_wake)
        {
            _stopped = true;
            Monitor.PulseAll(_wake);
        }

        _thread?.Join(TimeSpan.FromSeconds(1));
    }

    /// <summary>Whether statvfs(2) of <paramref name="path"/> shows no free block or no free inode; <see langword="null"/> when it cannot be read.</summary>
    internal static unsafe bool? IsFull(string path)
    {
        // struct statvfs on LP64 glibc (x86-64, arm64): eleven 8-byte fields, then spare ints.
        var buffer = stackalloc ulong[32];
        if (NativeMethods.statvfs(path, buffer) != 0)
        {
            return null;
        }

        ulong blocks = buffer[2], available = buffer[4], files = buffer[5], filesAvailable = buffer[7];
        return (blocks > 0 && available == 0) || (files > 0 && filesAvailable == 0);
    }

    private void Look(string root)
    {
        foreach (var mount in mounts)
        {
            if (IsFull(root + mount) == true)
            {
                lock (_gate)
                {
                    _full.Add(mount);
                }
            }
        }
    }
}
