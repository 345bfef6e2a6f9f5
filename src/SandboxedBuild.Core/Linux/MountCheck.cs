using SandboxedBuild.Errors;
using SandboxedBuild.Policy;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Linux;

/// <summary>
/// Checks, after bubblewrap has set up the mounts and before the command starts, that every bind
/// shows the very directory or file that was checked on the host.
/// </summary>
/// <remarks>
/// The policy resolves each bind source on the host (<see cref="HostPath"/>), but bubblewrap looks
/// the source up again when it mounts it, and a sandbox running at the same time in the same tree
/// may swap a directory for a link in between. bubblewrap 0.8 cannot bind by descriptor, so the
/// check is made afterwards: bubblewrap waits on <c>--block-fd</c> once its mounts are final; the
/// marker directory it creates last in the new root shows that moment; the device and inode of each
/// bind, seen through <c>/proc/PID/root</c>, must be those recorded before the spawn. A mismatch
/// kills the sandbox before the command runs.
/// </remarks>
internal sealed class MountCheck
{
    private readonly List<(string Path, (ulong, uint, uint) Identity)> _expected = [];

    private MountCheck()
    {
    }

    /// <summary>
    /// Created by bubblewrap in the new root, with a name of this run's: once it is visible there,
    /// every mount is in place (bubblewrap switches to the new root in one step, after all of them).
    /// </summary>
    /// <remarks>
    /// In the private <c>/tmp</c>, which every policy has and which stays writable once bubblewrap
    /// makes its root read-only, and removed again by <see cref="Verify"/> once seen, so that the
    /// command finds the layout the documentation describes.
    /// </remarks>
    public string ReadyMarker { get; } = "/tmp/.dotnet-sandbox-mounted-" + Guid.NewGuid().ToString("N");

    /// <summary>Starts a check; <see cref="Record"/> it right before the spawn, once every placeholder and output directory exists.</summary>
    public static MountCheck Create() => new();

    /// <summary>
    /// Records what each path bubblewrap is to bind over itself is, reached along its real location
    /// without following a link, so that what is recorded is the directory the policy checked and not
    /// whatever a link swapped in since then points to.
    /// </summary>
    /// <param name="bound">Exactly the paths of the command line's <c>--bind P P</c> and <c>--ro-bind P P</c>, as <see cref="BwrapCommandLine.Build"/> reported them.</param>
    /// <param name="home">The caller's home, which <see cref="HostPath"/> trusts with its parents.</param>
    /// <param name="fs">The host file system.</param>
    /// <exception cref="SandboxException">SBX4009: a path to bind has become a link a sandbox could have planted, or has vanished, since the command line was built.</exception>
    public MountCheck Record(IEnumerable<string> bound, string home, IFileSystem fs)
    {
        _expected.Clear();
        foreach (var path in bound)
        {
            var place = HostPath.Resolve(fs, path, home);
            if (place.IsUntrusted)
            {
                throw new SandboxException(Errors.Errors.MountCheckFailed, path, "it has become a symbolic link since the policy was checked");
            }

            if (!string.Equals(place.Real, path, StringComparison.Ordinal))
            {
                // A link no sandbox can have planted (/lib64 and the like in system trees): bubblewrap
                // mounts at its target, and nothing there can be swapped.
                continue;
            }

            // Missing now means removed since the command line was built, by something running at
            // the same time: what bubblewrap then finds there, if anything, would go unchecked.
            var identity = NoFollowDirectory.IdentityNoFollow(place.Real)
                ?? throw new SandboxException(Errors.Errors.MountCheckFailed, path, "it has vanished since the command line was built");
            _expected.Add((path, identity));
        }

        return this;
    }

    /// <summary>
    /// Waits until the sandbox of init <paramref name="childPid"/> has its mounts in place, then compares.
    /// Returns <see langword="false"/> when bubblewrap ended first (its own error then says why).
    /// </summary>
    /// <exception cref="SandboxException">SBX4009: a bind shows something else than was checked, or the sandbox cannot be inspected.</exception>
    public bool Verify(int childPid, Func<bool> bubblewrapEnded, TimeSpan timeout)
    {
        var root = "/proc/" + childPid.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/root";
        var deadline = DateTime.UtcNow + timeout;
        var spins = 0;
        while (!Directory.Exists(root + ReadyMarker))
        {
            if (bubblewrapEnded() || !Directory.Exists("/proc/" + childPid.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            {
                return false;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new SandboxException(Errors.Errors.MountCheckFailed, root, "bubblewrap did not finish setting up its mounts in time, or its root cannot be inspected");
            }

            // Setup takes a few milliseconds: spin briefly, then yield the processor.
            if (++spins < 50)
            {
                Thread.SpinWait(200);
            }
            else
            {
                Thread.Sleep(1);
            }
        }

        try
        {
            // The command has not started: nothing inside can hold or replace the marker yet.
            Directory.Delete(root + ReadyMarker);
        }
        catch (IOException)
        {
            // An empty directory left at the top of the sandbox's own root: harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }

        // Two facts per bind. A mount must sit exactly at the path: bubblewrap follows a link in the
        // destination too, so a destination swapped for a link while it mounted puts the mount
        // elsewhere (and leaves the path unprotected). And what the path shows, walked inside the
        // sandbox without following a link, must be what was recorded on the host.
        var mountPoints = MountPoints("/proc/" + childPid.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/mountinfo");
        foreach (var (path, identity) in _expected)
        {
            if (!mountPoints.Contains(path))
            {
                throw new SandboxException(Errors.Errors.MountCheckFailed, path, "no mount sits there in the sandbox: the destination was replaced (by a link?) while bubblewrap mounted it");
            }

            if (NoFollowDirectory.IdentityNoFollow(path, root) is not { } seen || seen != identity)
            {
                throw new SandboxException(Errors.Errors.MountCheckFailed, path, "the sandbox shows another directory or file there than the one checked on the host: it was replaced (by a link?) between the check and the mount");
            }
        }

        return true;
    }

    /// <summary>The mount points of a mount namespace, from its <c>mountinfo</c> (field 5, octal escapes undone).</summary>
    private static HashSet<string> MountPoints(string mountinfo)
    {
        var points = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(mountinfo))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4)
            {
                points.Add(MountInfo.Unescape(fields[4]));
            }
        }

        return points;
    }
}
