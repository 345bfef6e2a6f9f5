using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Linux;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Diagnostics;

/// <summary>The outcome of one doctor check.</summary>
public enum CheckOutcome
{
    /// <summary>The check passed (for attacks: the attack failed).</summary>
    Pass,

    /// <summary>The check failed.</summary>
    Fail,

    /// <summary>The check could not run here; the detail says why.</summary>
    Skip,

    /// <summary>A fact, not a verdict.</summary>
    Info,
}

/// <summary>One line of the doctor's report.</summary>
/// <param name="Name">What was checked.</param>
/// <param name="Outcome">The verdict.</param>
/// <param name="Detail">What was seen.</param>
public sealed record DoctorCheck(string Name, CheckOutcome Outcome, string Detail);

/// <summary>
/// Says whether this machine can sandbox, then runs real attacks against a real sandbox and
/// checks on the host side that each failed, next to legitimate work that must succeed.
/// </summary>
public static class Doctor
{
    /// <summary>Runs every check, in order; later checks are skipped when the sandbox cannot start.</summary>
    /// <param name="bridgeExecutable">The bridge the networked check runs (see <see cref="SandboxRunner"/>).</param>
    /// <param name="control">What stops the checks' sandboxes from outside (see <see cref="RunControl"/>).</param>
    public static IEnumerable<DoctorCheck> Run(string? bridgeExecutable = null, RunControl? control = null)
    {
        var host = HostFacts.Current();
        var fs = host.FileSystem;
        yield return new DoctorCheck("caller", CheckOutcome.Info,
            Environment.IsPrivilegedProcess
                ? $"{Environment.UserName}, privileged: the sandbox still runs in a user namespace with every capability dropped"
                : $"{Environment.UserName}, unprivileged");

        var bwrap = Bubblewrap.Find(host.Variables, fs);
        if (bwrap is null)
        {
            yield return new DoctorCheck("bubblewrap", CheckOutcome.Fail, Errors.Errors.BubblewrapMissing.Format());
            yield break;
        }

        var version = Bubblewrap.GetVersion(bwrap);
        if (version is null || version < BwrapCommandLine.MinimumVersion)
        {
            yield return new DoctorCheck("bubblewrap", CheckOutcome.Fail, Errors.Errors.BubblewrapTooOld.Format(version?.ToString() ?? "of unknown version", BwrapCommandLine.MinimumVersion));
            yield break;
        }

        yield return new DoctorCheck("bubblewrap", CheckOutcome.Pass, $"{bwrap}, version {version}");

        var userns = Bubblewrap.ProbeUserNamespace(bwrap);
        if (userns is not null)
        {
            // The same diagnosis as a failed run: AppArmor's restriction (SBX4017) or namespaces off (SBX4003).
            yield return new DoctorCheck("user namespaces", CheckOutcome.Fail, Bubblewrap.NamespaceFailure(bwrap, userns).Message);
            yield break;
        }

        yield return new DoctorCheck("user namespaces", CheckOutcome.Pass, "bubblewrap can create a user namespace");
        foreach (var check in Bounds(host))
        {
            yield return check;
        }

        yield return new DoctorCheck("macOS seatbelt backend", CheckOutcome.Info, "not exercised on this platform");

        using var lab = new Lab(host, bridgeExecutable, control);
        foreach (var check in lab.RunSelfTest(bwrap))
        {
            yield return check;
        }
    }

    /// <summary>The resource bounds a run gets by default here, and whether a cgroup could add more.</summary>
    internal static IEnumerable<DoctorCheck> Bounds(HostFacts host)
    {
        var bounds = ResourceBounds.For(host.MemoryTotal, null, null, host.IsRoot, host.PidsCgroupParent);
        yield return new DoctorCheck("tmpfs bound", CheckOutcome.Info,
            $"each private tmpfs (home, /tmp, /var/tmp, /dev/shm) holds at most {ResourceBounds.FormatSize(bounds.TmpfsBytes)} ({bounds.TmpfsReason}); /dev is read-only; change with --tmpfs-size");
        yield return new DoctorCheck("process bound", CheckOutcome.Info, bounds.ProcessBoundEnforced
            ? $"at most {bounds.MaxProcesses} processes per sandbox, threads included ({bounds.ProcessBoundBy}); change with --max-processes"
            : $"{bounds.MaxProcesses} processes is set, but NOT enforced: the caller is root, the kernel does not hold uid 0 to RLIMIT_NPROC, and no pids cgroup can be made here ({host.PidsCgroupWhy}); run as an unprivileged user for a process bound");
        yield return new DoctorCheck("cgroup", CheckOutcome.Info, (host.PidsCgroupParent is null ? "no pids cgroup per sandbox: " + host.PidsCgroupWhy : "a pids cgroup per sandbox: " + host.PidsCgroupWhy)
            + "; systemd user scope: " + CgroupAvailability(host) + "; memory and CPU are not bounded");
    }

    /// <summary>Whether this caller could get a cgroup per sandbox (a systemd user scope on the unified hierarchy), and why not.</summary>
    internal static string CgroupAvailability(HostFacts host)
    {
        string? type = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/mountinfo"))
            {
                var fields = line.Split(' ');
                var dash = Array.IndexOf(fields, "-");
                if (fields.Length > 4 && fields[4] == "/sys/fs/cgroup" && dash > 0 && dash + 1 < fields.Length)
                {
                    type = fields[dash + 1];
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "not available (cannot read /proc/self/mountinfo)";
        }

        if (type != "cgroup2")
        {
            return type is null
                ? "not available (no cgroup file system at /sys/fs/cgroup)"
                : "not available (/sys/fs/cgroup is " + type + ", not the unified cgroup2 hierarchy: cgroup v1 or hybrid)";
        }

        var runtime = host.Variables.TryGetValue("XDG_RUNTIME_DIR", out var dir) && dir.StartsWith('/') ? dir : null;
        var socket = runtime is null ? null : Path.Combine(runtime, "systemd", "private");
        return socket is not null && File.Exists(socket)
            ? "a systemd user manager is running (" + socket + "), but a scope per sandbox is not used yet"
            : "not available (no systemd user manager: " + (socket ?? "XDG_RUNTIME_DIR is not set") + (socket is null ? string.Empty : " does not exist") + ")";
    }

    /// <summary>A scratch area with bait, torn down afterwards.</summary>
    private sealed class Lab : IDisposable
    {
        private readonly HostFacts _host;
        private readonly string _root;
        private readonly string _project;
        private readonly string _hostTmpBait;
        private readonly string? _bridge;
        private readonly RunControl? _control;

        public Lab(HostFacts host, string? bridge, RunControl? control)
        {
            _bridge = bridge;
            _control = control;
            // The lab lives in the home directory, which the sandbox must hide: bait next to the
            // project is exactly what a hostile build would go looking for.
            var cache = Path.Combine(host.HomeDirectory, ".cache", "dotnet-sandbox");
            Directory.CreateDirectory(cache);
            _root = Path.Combine(cache, "doctor-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(_root);
            _project = Path.Combine(_root, "project");
            Directory.CreateDirectory(Path.Combine(_project, ".git"));
            File.WriteAllText(Path.Combine(_root, "secret"), "bait");
            _hostTmpBait = Path.Combine(Path.GetTempPath(), "sbx-doctor-bait-" + Path.GetFileName(_root));
            File.WriteAllText(_hostTmpBait, "bait");
            _host = host with { WorkingDirectory = _project };
        }

        public IEnumerable<DoctorCheck> RunSelfTest(string bwrap)
        {
            var policy = ExecPolicyBuilder.Build(_host, new ExecOptions { NetworkMode = Network.NetworkMode.None }, new List<Diagnostic>());
            var launcher = new SandboxLauncher(_host.FileSystem);
            int Sh(string script) => launcher.Run(bwrap, policy, ["/bin/sh", "-c", script], streams: CommandStreams.Discarded, control: _control).ExitCode;

            var wrote = Sh("echo ok > written") == 0 && File.Exists(Path.Combine(_project, "written"));
            yield return Verdict("must work: write in the project", wrote, "the project directory is writable", "could not write in the project directory");

            var secret = Path.Combine(_root, "secret");
            yield return Verdict("read a secret in the home directory", Sh($"cat '{secret}'") != 0, "planted file not readable", "the planted file was readable");

            yield return Verdict("read the host's /tmp", Sh($"cat '{_hostTmpBait}'") != 0, "planted file not readable", "the planted file was readable");

            var outside = Path.Combine(_root, "escaped");
            _ = Sh($"echo pwned > '{outside}'");
            yield return Verdict("write outside the project", !File.Exists(outside), "nothing appeared on the host", "a file appeared outside the project");

            var hook = Path.Combine(_project, ".git", "hooks", "pre-commit");
            _ = Sh("mkdir -p .git/hooks && echo pwned > .git/hooks/pre-commit");
            yield return Verdict("create a git hook", !File.Exists(hook), "no hook appeared on the host", "a hook appeared in .git/hooks");

            if (_host.IsRoot && _host.PidsCgroupParent is null)
            {
                yield return new DoctorCheck("fork past the process bound", CheckOutcome.Skip, "the caller is root: the kernel does not hold uid 0 to RLIMIT_NPROC, and no pids cgroup can be made here");
            }
            else
            {
                var bounded = ExecPolicyBuilder.Build(_host, new ExecOptions { NetworkMode = Network.NetworkMode.None, MaxProcesses = 16 }, new List<Diagnostic>());
                var forks = launcher.Run(bwrap, bounded, ["/bin/sh", "-c", "(i=0; while [ $i -lt 64 ]; do sleep 1 & i=$((i+1)); done; exit 0) 2>/dev/null; test $? -ne 0"], streams: CommandStreams.Discarded, control: _control).ExitCode;
                yield return Verdict("fork past the process bound", forks == 0, "64 forks with --max-processes 16: the loop failed to fork", "64 forks succeeded with --max-processes 16");
            }

            yield return NetworkCheck(Sh);
            yield return ProxyCheck(bwrap);

            var marker = 30000 + Random.Shared.Next(20000);
            _ = Sh($"sleep {marker} >/dev/null 2>&1 & exit 0");
            Thread.Sleep(50);
            yield return Verdict("leave a process running", !ProcessRunning($"sleep\0{marker}"), "nothing outlived the sandbox", "a process started inside is still running");
        }

        private static DoctorCheck NetworkCheck(Func<string, int> sh)
        {
            if (!File.Exists("/bin/bash"))
            {
                return new DoctorCheck("reach the host's loopback", CheckOutcome.Skip, "needs /bin/bash for /dev/tcp");
            }

            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            _ = sh($"exec /bin/bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}'");
            return Verdict("reach the host's loopback", !listener.Pending(), $"no connection reached 127.0.0.1:{port} on the host", "a connection reached the host");
        }

        private DoctorCheck ProxyCheck(string bwrap)
        {
            const string Name = "reach a host off the allowlist through the proxy";
            if (!File.Exists("/bin/bash"))
            {
                return new DoctorCheck(Name, CheckOutcome.Skip, "needs /bin/bash for /dev/tcp");
            }

            var policy = ExecPolicyBuilder.Build(_host, new ExecOptions { ProxyPort = 3128 }, new List<Diagnostic>());
            var script = "exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'CONNECT blocked.invalid:443 HTTP/1.1\r\nHost: blocked.invalid:443\r\n\r\n' >&3 && read -r status <&3 && case \"$status\" in *' 403 '*) exit 0;; *) exit 1;; esac";
            RunResult result;
            try
            {
                result = new SandboxRunner(_host.FileSystem, _bridge).Run(bwrap, policy, ["/bin/bash", "-c", script], streams: CommandStreams.Discarded, control: _control);
            }
            catch (Errors.SandboxException ex)
            {
                return new DoctorCheck(Name, CheckOutcome.Fail, ex.Message);
            }

            var refused = result.ExitCode == 0 && result.Connections.Any(c => c.Host == "blocked.invalid" && !c.Allowed);
            return Verdict(Name, refused, "the proxy answered 403 and recorded the refusal", $"the proxy did not refuse (exit {result.ExitCode}){string.Concat(result.Warnings.Select(w => "; " + w))}");
        }

        private static bool ProcessRunning(string cmdlineFragment)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(cmdlineFragment, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }

            return false;
        }

        private static DoctorCheck Verdict(string name, bool held, string good, string bad) =>
            new(name, held ? CheckOutcome.Pass : CheckOutcome.Fail, held ? good : bad);

        public void Dispose()
        {
            try
            {
                Directory.Delete(_root, recursive: true);
                File.Delete(_hostTmpBait);
            }
            catch (IOException)
            {
            }
        }
    }
}
