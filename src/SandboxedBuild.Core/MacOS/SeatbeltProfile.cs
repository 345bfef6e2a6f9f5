using System.Globalization;
using System.Text;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.MacOS;

/// <summary>
/// Renders a <see cref="SandboxPolicy"/> as a macOS seatbelt profile (SBPL, the input of
/// <c>sandbox-exec -f</c>). A pure function of the policy and two facts about the run, so that it
/// prints on any operating system for review and is tested as text.
/// </summary>
/// <remarks>
/// <para>
/// Apple does not document SBPL. What this relies on comes from the profiles macOS ships
/// (<c>/System/Library/Sandbox/Profiles</c>) and from the tools that generate profiles (Chromium,
/// OpenAI's Codex, Anthropic's sandbox runtime); docs/seatbelt.md lists each point and
/// what is still to be checked on a Mac:
/// </para>
/// <list type="bullet">
/// <item><c>(deny default)</c> refuses every operation no rule allows. For one operation the
/// <em>last</em> matching rule decides, so the file system rules are written from the least to the
/// most specific path, which gives the policy's "most specific path wins".</item>
/// <item>A rule's filters are alternatives. <c>(subpath P)</c> matches <c>P</c> and everything
/// below it, <c>(literal P)</c> only <c>P</c>, <c>(regex R)</c> any path <c>R</c> matches.</item>
/// <item>The path checked is the one the kernel resolved, symbolic links followed. <c>/tmp</c>,
/// <c>/var</c> and <c>/etc</c> are links into <c>/private</c>, so every rule names both forms.</item>
/// <item>Matching is by string, case-sensitive, but macOS volumes are case-insensitive by default:
/// <c>.GIT</c> is <c>.git</c> to git. Every <em>deny</em> therefore matches the path in any ASCII
/// case (a regex with <c>[gG]</c> classes). An allow needs no such care: a path spelt differently
/// from its allow is simply not allowed.</item>
/// <item>Rules follow names, not files: a directory renamed away carries its contents out of the
/// rules that named them. Directories inside a writable tree that hold a protected, hidden,
/// read-only or private path are therefore pinned (no write to the directory entry itself), which
/// is what bubblewrap's mount points give on Linux.</item>
/// </list>
/// <para>The policy's access kinds become:</para>
/// <list type="table">
/// <listheader><term>Access</term><description>Rules</description></listheader>
/// <item><term><see cref="PathAccess.ReadOnly"/></term><description>allow <c>file-read* file-map-executable process-exec*</c> on the subpath; deny <c>file-write*</c> on it.</description></item>
/// <item><term><see cref="PathAccess.ReadWrite"/></term><description>allow the same and <c>file-write*</c> on the subpath.</description></item>
/// <item><term><see cref="PathAccess.Protected"/></term><description>as read-only. Seatbelt can refuse to create a path that does not exist, so no placeholder is needed and nothing is left to remove afterwards (<see cref="PathRule.RemoveIfCreated"/> and <see cref="PathRule.Kind"/> do not matter here): the deny covers the path whether it turns out a file or a directory.</description></item>
/// <item><term><see cref="PathAccess.Hidden"/></term><description>deny reading, mapping, running and writing on the subpath. Unlike the empty directory bubblewrap shows, the path is then refused (<c>EPERM</c>), not empty.</description></item>
/// <item><term><see cref="PathAccess.Scratch"/></term><description>deny everything on the real path, as for hidden; the run gets <see cref="ScratchDirectory"/> of it instead, readable and writable (see <see cref="SeatbeltHost.PrivateTempDirectory"/>).</description></item>
/// </list>
/// <para>
/// Beyond the policy's paths, the profile allows what every process needs to start and a .NET
/// build needs to run (the operating system's own read-only trees, a few devices, named sysctls
/// and Mach services), the parent directories' metadata that path resolution reads, unix sockets
/// inside the private directory and, with network, the egress proxy's loopback port.
/// </para>
/// </remarks>
public static class SeatbeltProfile
{
    /// <summary>What reading a path allows: its content and metadata, mapping it as code, running it.</summary>
    private const string ReadOperations = "file-read* file-map-executable process-exec*";

    /// <summary>What writing a path allows: every change, creating and removing included. Not hard links or clones (see <see cref="AppendNotAllowed"/>).</summary>
    private const string WriteOperations = "file-write*";

    /// <summary>Symbolic links at the root into <c>/private</c>; the kernel reports paths below them in their <c>/private</c> form.</summary>
    private static readonly string[] PrivateLinks = ["/tmp", "/var", "/etc"];

    /// <summary>
    /// Read-only trees of the operating system that processes need whatever the policy says. They
    /// come before the policy's rules, so a hidden path in the policy still wins over them.
    /// </summary>
    private static readonly (string Path, string Why)[] PlatformPaths =
    [
        ("/System", "the operating system's frameworks and libraries (CoreFoundation, Security)"),
        ("/usr/lib", "libSystem, dyld and the other libraries every program links"),
        ("/private/var/db/timezone", "time zone data: /etc/localtime and /usr/share/zoneinfo point here"),
        ("/private/var/select", "/bin/sh reads here which shell to run"),
        ("/private/var/db/xcode_select_link", "the developer tools the /usr/bin shims (git, make, clang) run"),
        ("/Library/Developer/CommandLineTools", "the command line developer tools those shims run"),
    ];

    /// <summary>Devices a build reads and writes. No ioctls: on the terminal they would allow TIOCSTI, typing into the caller's shell.</summary>
    private static readonly string[] ReadWriteDevices = ["/dev/null", "/dev/tty", "/dev/stdin", "/dev/stdout", "/dev/stderr"];

    /// <summary>Devices a build only reads.</summary>
    private static readonly string[] ReadOnlyDevices = ["/dev/zero", "/dev/random", "/dev/urandom"];

    /// <summary>
    /// The sysctls the .NET runtime, the GC, libSystem and dyld read: processor, cache and memory
    /// sizes, instruction set features, the OS version, Rosetta. Left out on purpose:
    /// <c>kern.procargs2</c> (any process's arguments and environment) and <c>kern.proc.all</c>.
    /// <c>kern.proc.pid.N</c> gives a process's name, parent and start time, not its arguments.
    /// </summary>
    private static readonly string[] SysctlNames =
    [
        "hw.activecpu", "hw.byteorder", "hw.cachelinesize", "hw.cpufamily", "hw.cpufrequency", "hw.cpusubtype", "hw.cputype",
        "hw.l1dcachesize", "hw.l1icachesize", "hw.l2cachesize", "hw.l3cachesize", "hw.logicalcpu", "hw.logicalcpu_max",
        "hw.machine", "hw.memsize", "hw.model", "hw.ncpu", "hw.nperflevels", "hw.pagesize", "hw.physicalcpu",
        "hw.physicalcpu_max", "hw.tbfrequency",
        "kern.argmax", "kern.boottime", "kern.hostname", "kern.maxfilesperproc", "kern.maxproc", "kern.ngroups",
        "kern.osproductversion", "kern.osrelease", "kern.ostype", "kern.osvariant_status", "kern.osversion",
        "kern.secure_kernel", "kern.usrstack64", "kern.version",
        "machdep.ptrauth_enabled", "security.mac.lockdown_mode_state", "sysctl.proc_cputype", "sysctl.proc_translated",
        "vm.loadavg",
    ];

    private static readonly string[] SysctlPrefixes = ["hw.optional.", "hw.perflevel", "kern.proc.pid.", "machdep.cpu."];

    /// <summary>
    /// The Mach services a build needs, and nothing that acts outside the sandbox on its behalf:
    /// not LaunchServices (it opens programs outside), not the keychain (com.apple.SecurityServer).
    /// </summary>
    private static readonly (string Name, string Why)[] MachServices =
    [
        ("com.apple.system.opendirectoryd.libinfo", "user and group look-ups (getpwuid)"),
        ("com.apple.system.notification_center", "notify(3), which libSystem uses (time zone changes)"),
        ("com.apple.system.logger", "logging from libSystem and dyld"),
        ("com.apple.logd", "logging from libSystem and dyld"),
        ("com.apple.cfprefsd.daemon", "CoreFoundation preferences: the locale; only the global domain is readable"),
        ("com.apple.cfprefsd.agent", "CoreFoundation preferences: the locale; only the global domain is readable"),
        ("com.apple.trustd", "certificate trust: TLS through the proxy, NuGet package signatures"),
        ("com.apple.trustd.agent", "certificate trust: TLS through the proxy, NuGet package signatures"),
    ];

    /// <summary>Renders the policy as a profile.</summary>
    /// <param name="policy">What the command may do.</param>
    /// <param name="host">The caller's home and the run's private directory.</param>
    /// <returns>The profile text, one rule per line or block, with a comment per policy entry.</returns>
    /// <exception cref="SandboxException">SBX5002: a path holds a control character or invalid UTF-16, which a profile cannot carry safely.</exception>
    /// <exception cref="ArgumentException">A path is not absolute and normalized, the private directory is less than three levels deep (in its <c>/private</c> form) or holds a policy path, or the network mode needs a proxy port and has none.</exception>
    public static string Build(SandboxPolicy policy, SeatbeltHost host)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(host);
        CheckPath(host.HomeDirectory, nameof(host.HomeDirectory));
        CheckPath(host.PrivateTempDirectory, nameof(host.PrivateTempDirectory));
        var privateDir = Canonical(host.PrivateTempDirectory);
        if (PathUtil.Depth(privateDir) < 3)
        {
            // Three levels in the /private form keep out the shared /tmp and a home directory.
            throw new ArgumentException($"'{host.PrivateTempDirectory}' is too broad to be the run's private directory; use a new directory such as /private/tmp/dotnet-sandbox-<run>.", nameof(host));
        }

        foreach (var rule in policy.Paths)
        {
            CheckPath(rule.Path, nameof(policy));
            if (PathUtil.IsSameOrUnder(Canonical(rule.Path), privateDir))
            {
                throw new ArgumentException($"the private directory '{host.PrivateTempDirectory}' must be new to the run, but the policy names '{rule.Path}' in it.", nameof(host));
            }
        }

        var network = policy.Network;
        if (network.Mode != NetworkMode.None && network.ProxyPort is < 1 or > 65535)
        {
            throw new ArgumentException($"network mode {network.Mode} needs the proxy's port; got {network.ProxyPort}.", nameof(policy));
        }

        // Least to most specific: the later rule wins in SBPL. Depth of the /private form, so that
        // /tmp (really /private/tmp) sorts below a rule for /private.
        var rules = policy.Paths
            .OrderBy(r => PathUtil.Depth(Canonical(r.Path)))
            .ThenBy(r => Canonical(r.Path), StringComparer.Ordinal)
            .ThenBy(r => r.Path, StringComparer.Ordinal)
            .ToList();
        var canonical = rules.Select(r => (Path: Canonical(r.Path), r.Access)).ToList();

        var sb = new StringBuilder();
        AppendHeader(sb, policy, host, rules);
        sb.Append('\n').Append("(version 1)\n").Append("(deny default)\n");
        AppendProcess(sb);
        AppendDevices(sb);
        AppendPlatform(sb);
        AppendPolicyPaths(sb, rules, host);
        AppendPrivateDirectory(sb, host);
        AppendAncestors(sb, rules, canonical, host);
        AppendPins(sb, canonical);
        AppendNetwork(sb, network, host);
        AppendNotAllowed(sb);
        return sb.ToString();
    }

    /// <summary>
    /// Where a private (<see cref="PathAccess.Scratch"/>) path lives during the run: the run's
    /// private directory followed by the path, <c>/tmp</c> → <c>/private/tmp/dotnet-sandbox-1/tmp</c>.
    /// The tree is mirrored: the mapping is one-to-one and shows at a glance where a path went.
    /// </summary>
    /// <param name="host">The run.</param>
    /// <param name="path">An absolute, normalized path the policy makes private.</param>
    public static string ScratchDirectory(SeatbeltHost host, string path)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(path);
        return host.PrivateTempDirectory + (path == "/" ? string.Empty : path);
    }

    /// <summary>
    /// The directories a backend creates before the run (mode 0700, owned by the caller), one per
    /// private path of the policy, parents before children.
    /// </summary>
    /// <param name="policy">The policy whose private paths are mapped.</param>
    /// <param name="host">The run.</param>
    public static IReadOnlyList<string> ScratchDirectories(SandboxPolicy policy, SeatbeltHost host)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return
        [
            .. policy.Paths.Where(r => r.Access == PathAccess.Scratch)
                .Select(r => ScratchDirectory(host, r.Path))
                .OrderBy(PathUtil.Depth).ThenBy(p => p, StringComparer.Ordinal),
        ];
    }

    private static void AppendHeader(StringBuilder sb, SandboxPolicy policy, SeatbeltHost host, List<PathRule> rules)
    {
        Comment(sb, "Seatbelt profile (SBPL) generated by SandboxedBuild from a sandbox policy; see docs/seatbelt.md.");
        Comment(sb, "Run: sandbox-exec -f <this file> <command>. Later rules win; everything not allowed is denied.");
        Comment(sb, string.Empty);
        Comment(sb, "working directory: " + policy.WorkingDirectory);
        var scratch = rules.Where(r => r.Access == PathAccess.Scratch).ToList();
        if (scratch.Count == 0)
        {
            return;
        }

        // Seatbelt cannot mount: the backend must create these and point the programs at them.
        Comment(sb, "private paths live elsewhere for this run (seatbelt cannot mount over them); the backend creates each");
        Comment(sb, "directory below before the run, removes them after it, and sets:");
        foreach (var rule in scratch)
        {
            var variable = rule.Path == "/tmp" ? "TMPDIR" : rule.Path == host.HomeDirectory ? "HOME" : null;
            Comment(sb, "  " + (variable is null ? string.Empty : variable + "=") + ScratchDirectory(host, rule.Path) + "   (for " + rule.Path + ")");
        }
    }

    private static void AppendProcess(StringBuilder sb)
    {
        Section(sb, "processes: children inherit this profile. Which programs run is decided with reading, below (process-exec*).");
        Rule(sb, "allow", "process-fork");
        Rule(sb, "allow", "signal", "(target same-sandbox)");
        Rule(sb, "allow", "process-info*", "(target same-sandbox)");
        Comment(sb, "the JIT compiler writes and runs code");
        Rule(sb, "allow", "dynamic-code-generation");
        Rule(sb, "allow", "sysctl-read", [.. SysctlNames.Select(n => $"(sysctl-name {Quote(n)})"), .. SysctlPrefixes.Select(n => $"(sysctl-name-prefix {Quote(n)})")]);
        foreach (var group in MachServices.GroupBy(s => s.Why))
        {
            Comment(sb, group.Key);
            Rule(sb, "allow", "mach-lookup", [.. group.Select(s => $"(global-name {Quote(s.Name)})")]);
        }

        Rule(sb, "allow", "user-preference-read", "(preference-domain \"kCFPreferencesAnyApplication\")");
    }

    private static void AppendDevices(StringBuilder sb)
    {
        Section(sb, "devices: data only; no ioctl (TIOCSTI on the terminal would type into the caller's shell)");
        Rule(sb, "allow", "file-read* file-write-data", [.. ReadWriteDevices.Select(Literal), Subpath("/dev/fd")]);
        Rule(sb, "allow", "file-read*", [.. ReadOnlyDevices.Select(Literal)]);
    }

    private static void AppendPlatform(StringBuilder sb)
    {
        Section(sb, "the operating system, read-only, whatever the policy says (the policy's own rules follow and win)");
        foreach (var (path, why) in PlatformPaths)
        {
            Comment(sb, path + " — " + why);
            Rule(sb, "allow", ReadOperations, [.. Forms(path).Select(Subpath)]);
        }
    }

    private static void AppendPolicyPaths(StringBuilder sb, List<PathRule> rules, SeatbeltHost host)
    {
        Section(sb, "the policy's paths, from the least to the most specific; denies match any ASCII case");
        foreach (var rule in rules)
        {
            var path = rule.Path;
            var comment = PolicyWriter.Label(rule.Access).PadRight(10) + " " + path + " — " + rule.Reason(host.Wording ?? Network.RemedyWording.Neutral);
            switch (rule.Access)
            {
                case PathAccess.ReadOnly:
                    Comment(sb, comment);
                    Rule(sb, "allow", ReadOperations, [.. Forms(path).Select(Subpath)]);
                    Rule(sb, "deny", WriteOperations, [.. Forms(path).Select(SubtreeRegex)]);
                    break;
                case PathAccess.ReadWrite:
                    Comment(sb, comment);
                    Rule(sb, "allow", ReadOperations + " " + WriteOperations, [.. Forms(path).Select(Subpath)]);
                    break;
                case PathAccess.Protected:
                    // Denying the write denies creating it too: no placeholder, nothing to remove after the run.
                    Comment(sb, comment);
                    Rule(sb, "allow", ReadOperations, [.. Forms(path).Select(Subpath)]);
                    Rule(sb, "deny", WriteOperations, [.. Forms(path).Select(SubtreeRegex)]);
                    break;
                case PathAccess.Hidden:
                    Comment(sb, comment);
                    Rule(sb, "deny", ReadOperations + " " + WriteOperations, [.. Forms(path).Select(SubtreeRegex)]);
                    break;
                case PathAccess.Scratch:
                    Comment(sb, comment + "; here: " + ScratchDirectory(host, path));
                    Rule(sb, "deny", ReadOperations + " " + WriteOperations, [.. Forms(path).Select(SubtreeRegex)]);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(rules), rule.Access, "unknown access kind");
            }
        }
    }

    private static void AppendPrivateDirectory(StringBuilder sb, SeatbeltHost host)
    {
        // After the policy's rules: it lies below a private /tmp, whose deny it must override.
        Section(sb, "the run's private directory, home of the private paths above");
        Rule(sb, "allow", ReadOperations + " " + WriteOperations, [.. Forms(host.PrivateTempDirectory).Select(Subpath)]);
    }

    private static void AppendAncestors(StringBuilder sb, List<PathRule> rules, List<(string Path, PathAccess Access)> canonical, SeatbeltHost host)
    {
        // After every deny: a private home denies its own metadata, but /Users/dev must still be
        // stat-able on the way to the project inside it.
        var visible = rules.Where(r => r.Access is PathAccess.ReadOnly or PathAccess.ReadWrite or PathAccess.Protected).Select(r => r.Path)
            .Concat(PlatformPaths.Select(p => p.Path))
            .Concat(ReadWriteDevices).Concat(ReadOnlyDevices)
            .Append(host.PrivateTempDirectory);
        var ancestors = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var form in visible.SelectMany(Forms))
        {
            for (var dir = Parent(form); dir is not null; dir = Parent(dir))
            {
                // Inside a readable tree it is readable already.
                if (Nearest(canonical, Canonical(dir)) is not (PathAccess.ReadOnly or PathAccess.ReadWrite or PathAccess.Protected))
                {
                    ancestors.Add(dir);
                }
            }
        }

        Section(sb, "path resolution: the metadata (stat) of the directories above every visible path, not their listings");
        Rule(sb, "allow", "file-read-metadata", [.. ancestors.Select(Literal)]);
    }

    private static void AppendPins(StringBuilder sb, List<(string Path, PathAccess Access)> canonical)
    {
        var pins = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (path, access) in canonical.Where(r => r.Access != PathAccess.ReadWrite))
        {
            for (var dir = Parent(path); dir is not null; dir = Parent(dir))
            {
                if (Nearest(canonical, dir) == PathAccess.ReadWrite)
                {
                    pins.Add(dir);
                }
            }
        }

        if (pins.Count == 0)
        {
            return;
        }

        Section(sb, "pinned: rules follow names, so a writable directory holding the paths above must not be renamed or removed");
        Comment(sb, "(moved away and back, it would carry them out of their rules); what is inside keeps its own rules");
        Rule(sb, "deny", WriteOperations, [.. pins.SelectMany(Forms).Select(ExactRegex)]);
    }

    private static void AppendNetwork(StringBuilder sb, NetworkPolicy network, SeatbeltHost host)
    {
        var port = network.ProxyPort.ToString(CultureInfo.InvariantCulture);
        Section(sb, network.Mode == NetworkMode.None
            ? "network: none. The loopback is the host's own on macOS (no network namespace), so it is closed too."
            : $"network: {network.Mode.ToString().ToLowerInvariant()}, through the egress proxy on the host's loopback port {port} only");
        Comment(sb, "no DNS either: the resolver is a unix socket outside the private directory");
        Rule(sb, "deny", "network*");
        Comment(sb, "unix sockets inside the run's private directory: a build's tools and their helpers");
        Rule(sb, "allow", "system-socket", "(socket-domain AF_UNIX)");
        Rule(sb, "allow", "network-bind network-inbound", [.. Forms(host.PrivateTempDirectory).Select(p => $"(local unix-socket {Subpath(p)})")]);
        Rule(sb, "allow", "network-outbound", [.. Forms(host.PrivateTempDirectory).Select(p => $"(remote unix-socket {Subpath(p)})")]);
        if (network.Mode == NetworkMode.None)
        {
            return;
        }

        Comment(sb, "the proxy decides per host; \"localhost\" is 127.0.0.1 and ::1");
        Rule(sb, "allow", "system-socket", "(socket-domain AF_INET)", "(socket-domain AF_INET6)");
        Rule(sb, "allow", "network-outbound", $"(remote ip {Quote("localhost:" + port)})");
    }

    private static void AppendNotAllowed(StringBuilder sb)
    {
        Section(sb, "not allowed anywhere, by (deny default): hard links and clones (file-link, file-clone: a link to a");
        Comment(sb, "protected or read-only file from a writable directory would make it writable), ioctls, sysctl writes,");
        Comment(sb, "POSIX shared memory and semaphores (names shared with the host), Apple events, other Mach services.");
    }

    private static void Section(StringBuilder sb, string title)
    {
        sb.Append('\n');
        Comment(sb, title);
    }

    private static void Rule(StringBuilder sb, string action, string operations, params string[] filters)
    {
        sb.Append('(').Append(action).Append(' ').Append(operations);
        if (filters.Length == 1)
        {
            sb.Append(' ').Append(filters[0]);
        }
        else
        {
            foreach (var filter in filters)
            {
                sb.Append("\n    ").Append(filter);
            }
        }

        sb.Append(")\n");
    }

    /// <summary>A comment line. A line break inside would end the comment and start profile text: control characters become spaces.</summary>
    private static void Comment(StringBuilder sb, string text)
    {
        sb.Append(';');
        if (text.Length > 0)
        {
            sb.Append(' ').Append(string.Concat(text.Select(c => char.IsControl(c) ? ' ' : c)));
        }

        sb.Append('\n');
    }

    private static string Subpath(string path) => $"(subpath {Quote(path)})";

    private static string Literal(string path) => $"(literal {Quote(path)})";

    /// <summary>The path and everything below it, in any ASCII case.</summary>
    private static string SubtreeRegex(string path) => $"(regex {Quote("^" + CaseInsensitivePattern(path) + "(/|$)")})";

    /// <summary>Only the path itself, in any ASCII case.</summary>
    private static string ExactRegex(string path) => $"(regex {Quote("^" + CaseInsensitivePattern(path) + "$")})";

    /// <summary>
    /// A regular expression for <paramref name="path"/> that matches it in any ASCII case: letters
    /// become classes (<c>[gG]</c>), metacharacters are escaped. Other characters stand for
    /// themselves, so a non-ASCII letter still matches in its own case and normalization only.
    /// </summary>
    internal static string CaseInsensitivePattern(string path)
    {
        var sb = new StringBuilder();
        foreach (var c in path)
        {
            if (char.IsAsciiLetter(c))
            {
                sb.Append('[').Append(char.ToLowerInvariant(c)).Append(char.ToUpperInvariant(c)).Append(']');
            }
            else
            {
                if (@"\.^$|?*+()[]{}".Contains(c, StringComparison.Ordinal))
                {
                    sb.Append('\\');
                }

                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// An SBPL string literal: backslash and double quote escaped. Control characters and invalid
    /// UTF-16 are refused (SBX5002) rather than escaped, since how the profile reader treats escapes
    /// other than these two is not documented.
    /// </summary>
    /// <exception cref="SandboxException">SBX5002.</exception>
    internal static string Quote(string value)
    {
        RequireRepresentable(value);
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.Append('"').ToString();
    }

    /// <summary>Refuses control characters (C0, DEL, C1) and unpaired surrogates.</summary>
    /// <exception cref="SandboxException">SBX5002, with the path shown with its control characters escaped.</exception>
    internal static void RequireRepresentable(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c))
            {
                throw new SandboxException(Errors.Errors.PathNotRepresentableInProfile, Printable(value), $"a control character (U+{(int)c:X4})");
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                throw new SandboxException(Errors.Errors.PathNotRepresentableInProfile, Printable(value), $"an unpaired UTF-16 surrogate (U+{(int)c:X4}), which is not valid UTF-8");
            }
        }
    }

    private static string Printable(string value)
    {
        var sb = new StringBuilder();
        foreach (var c in value)
        {
            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static void CheckPath(string path, string parameter)
    {
        ArgumentNullException.ThrowIfNull(path, parameter);
        RequireRepresentable(path);
        // By string, not System.IO: the profile is printed on any operating system.
        if (path != "/" && (!path.StartsWith('/') || path.Split('/').Skip(1).Any(s => s is "" or "." or "..")))
        {
            throw new ArgumentException($"'{path}' is not an absolute, normalized path.", parameter);
        }
    }

    /// <summary>The path as written and, below <c>/tmp</c>, <c>/var</c> or <c>/etc</c>, its <c>/private</c> twin (either way round).</summary>
    internal static IEnumerable<string> Forms(string path)
    {
        yield return path;
        foreach (var link in PrivateLinks)
        {
            if (PathUtil.IsSameOrUnder(path, link))
            {
                yield return "/private" + path;
                yield break;
            }

            if (PathUtil.IsSameOrUnder(path, "/private" + link))
            {
                yield return path["/private".Length..];
                yield break;
            }
        }
    }

    /// <summary>The form the kernel reports: <c>/tmp/x</c> → <c>/private/tmp/x</c>.</summary>
    internal static string Canonical(string path) =>
        PrivateLinks.Any(link => PathUtil.IsSameOrUnder(path, link)) ? "/private" + path : path;

    private static string? Parent(string path) => path == "/" ? null : path.LastIndexOf('/') is > 0 and var i ? path[..i] : "/";

    /// <summary>
    /// The access of the rule that decides <paramref name="path"/>, if any: <see cref="SandboxPolicy.RuleFor"/>
    /// on the <c>/private</c> forms, which it does not know (<c>/private/tmp/x</c> is decided by a rule for <c>/tmp</c>).
    /// </summary>
    private static PathAccess? Nearest(List<(string Path, PathAccess Access)> rules, string path)
    {
        (string Path, PathAccess Access)? best = null;
        foreach (var rule in rules)
        {
            if (PathUtil.IsSameOrUnder(path, rule.Path) && (best is null || rule.Path.Length >= best.Value.Path.Length))
            {
                best = rule;
            }
        }

        return best?.Access;
    }

    /// <summary>
    /// The macOS seatbelt profile that would enforce the policy, readable on any OS; the private
    /// directories are shown under a placeholder run directory.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="home">The caller's home directory.</param>
    /// <param name="wording">How the host names the settings rules come from, in the comments.</param>
    public static string ForPrinting(SandboxPolicy policy, string home, Network.IRemedyWording? wording = null) =>
        Build(policy, new SeatbeltHost(home, "/private/tmp/dotnet-sandbox-RUN") { Wording = wording });
}
