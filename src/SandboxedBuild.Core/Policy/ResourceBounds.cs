using System.Globalization;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;

namespace SandboxedBuild.Policy;

/// <summary>
/// How much of the machine a sandboxed command may take: the size of each private tmpfs (the
/// private home, <c>/tmp</c>, <c>/var/tmp</c>, <c>/dev/shm</c>) and the number of processes.
/// </summary>
/// <param name="TmpfsBytes">The size bound of each private tmpfs, in bytes.</param>
/// <param name="TmpfsReason">Where <paramref name="TmpfsBytes"/> comes from.</param>
/// <param name="MaxProcesses">The most processes the sandbox may hold at once, threads included (the kernel counts tasks), its own init too.</param>
/// <param name="MaxProcessesReason">Where <paramref name="MaxProcesses"/> comes from.</param>
/// <param name="ProcessBoundEnforced">
/// Whether the kernel enforces <paramref name="MaxProcesses"/>: it does not count processes of
/// root (uid 0) against <c>RLIMIT_NPROC</c>, and a root caller's sandbox runs as uid 0 on the host,
/// so for root it holds only through a pids cgroup (<see cref="PidsCgroupParent"/>).
/// </param>
public sealed record ResourceBounds(long TmpfsBytes, string TmpfsReason, int MaxProcesses, string MaxProcessesReason, bool ProcessBoundEnforced = true)
{
    /// <summary>
    /// Where each run makes a pids cgroup of its own with <c>pids.max</c> = <see cref="MaxProcesses"/>;
    /// <see langword="null"/> when the bound is <c>RLIMIT_NPROC</c> alone (or, for root, does not hold).
    /// </summary>
    public string? PidsCgroupParent { get; init; }

    /// <summary>What holds the bound, in words: the mechanisms, or why nothing does.</summary>
    public string ProcessBoundBy => (PidsCgroupParent, ProcessBoundEnforced) switch
    {
        ({ } parent, _) => $"a pids cgroup per sandbox below {parent}" + (RootCaller ? string.Empty : ", and RLIMIT_NPROC"),
        (null, true) => "RLIMIT_NPROC, counted in the sandbox's own user namespace",
        _ => "nothing: the caller is root, the kernel does not hold uid 0 to RLIMIT_NPROC, and no pids cgroup can be made here",
    };

    private bool RootCaller { get; init; }

    /// <summary>The largest default tmpfs size, whatever the machine's memory.</summary>
    public const long DefaultTmpfsCeiling = 2L << 30;

    /// <summary>The default tmpfs size when the machine's memory is unknown.</summary>
    public const long UnknownMemoryTmpfs = 512L << 20;

    /// <summary>The default process bound: the kernel counts threads too, and a parallel build on a large machine runs thousands.</summary>
    public const int DefaultMaxProcesses = 8192;

    /// <summary>The largest process bound accepted (the kernel's own ceiling for pid numbers).</summary>
    public const int MaxProcessesCeiling = 4 * 1024 * 1024;

    /// <summary>The smallest tmpfs size accepted: one page is not enough for anything, 1 MiB is.</summary>
    public const long MinimumTmpfs = 1L << 20;

    /// <summary>The bounds of a run: the defaults, or what the command line asked for.</summary>
    /// <param name="memoryTotal">The machine's memory in bytes (<c>MemTotal</c>), if known.</param>
    /// <param name="tmpfsSize">The <c>--tmpfs-size</c> value in bytes, if given.</param>
    /// <param name="maxProcesses">The max-processes setting, if given.</param>
    /// <param name="callerIsRoot">Whether the caller's real uid is 0 (<c>RLIMIT_NPROC</c> then does not hold).</param>
    /// <param name="pidsCgroupParent">Where a pids cgroup per sandbox can be made, if anywhere.</param>
    /// <param name="wording">How the host names its settings in the reasons (the CLI: <c>--tmpfs-size</c>); neutral when <see langword="null"/>.</param>
    public static ResourceBounds For(long? memoryTotal, long? tmpfsSize, int? maxProcesses, bool callerIsRoot, string? pidsCgroupParent = null, IRemedyWording? wording = null)
    {
        var words = wording ?? RemedyWording.Neutral;
        var (bytes, reason) = tmpfsSize is { } asked
            ? (asked, words.Setting(Origin.Settings.TmpfsSize))
            : memoryTotal is { } total and > 0
                ? (Math.Max(MinimumTmpfs, Math.Min(DefaultTmpfsCeiling, total / 16)), $"default: the smaller of 2 GiB and 1/16 of this machine's memory ({FormatSize(total)})")
                : (UnknownMemoryTmpfs, "default: this machine's memory is unknown");
        return new ResourceBounds(
            bytes,
            reason,
            maxProcesses ?? DefaultMaxProcesses,
            maxProcesses is null ? "default" : words.Setting(Origin.Settings.MaxProcesses),
            !callerIsRoot || pidsCgroupParent is not null)
        {
            PidsCgroupParent = pidsCgroupParent,
            RootCaller = callerIsRoot,
        };
    }

    /// <summary>
    /// Parses a tmpfs-size value: bytes, or a number with a binary suffix
    /// <c>K</c>, <c>M</c>, <c>G</c> or <c>T</c> (<c>512M</c>, <c>2G</c>); at least 1 MiB.
    /// </summary>
    /// <param name="value">The value given.</param>
    /// <param name="wording">How the host names the setting in the error; neutral when <see langword="null"/>.</param>
    /// <exception cref="SandboxException">SBX1013: the value is not such a size.</exception>
    public static long ParseSize(string value, IRemedyWording? wording = null)
    {
        var setting = (wording ?? RemedyWording.Neutral).Setting(Origin.Settings.TmpfsSize);
        var text = value.Trim();
        var shift = text.Length == 0 ? 0 : char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            'T' => 40,
            _ => 0,
        };
        var digits = shift == 0 ? text : text[..^1];
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit)
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number > (long.MaxValue >> 1) >> shift)
        {
            throw new SandboxException(Errors.Errors.InvalidBound, setting, value, "a size in bytes, or with a suffix K, M, G or T: 512M, 2G, 1073741824");
        }

        var bytes = number << shift;
        return bytes >= MinimumTmpfs
            ? bytes
            : throw new SandboxException(Errors.Errors.InvalidBound, setting, value, "at least 1M (1048576 bytes)");
    }

    /// <summary>Parses a max-processes value: a whole number from 1 to <see cref="MaxProcessesCeiling"/>.</summary>
    /// <param name="value">The value given.</param>
    /// <param name="wording">How the host names the setting in the error; neutral when <see langword="null"/>.</param>
    /// <exception cref="SandboxException">SBX1013: the value is not such a number.</exception>
    public static int ParseMaxProcesses(string value, IRemedyWording? wording = null) =>
        value.Length > 0 && value.All(char.IsAsciiDigit)
        && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxProcessesCeiling
            ? n
            : throw new SandboxException(Errors.Errors.InvalidBound, (wording ?? RemedyWording.Neutral).Setting(Origin.Settings.MaxProcesses), value, $"a whole number from 1 to {MaxProcessesCeiling}, such as 256");

    /// <summary>A size as people write it: <c>512 MiB</c>, <c>1.5 GiB</c>, <c>4096 bytes</c>.</summary>
    public static string FormatSize(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        var unit = 0;
        var value = (double)bytes;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? bytes.ToString(CultureInfo.InvariantCulture) + " bytes"
            : value.ToString(value == Math.Floor(value) ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>
    /// The machine's memory from <c>/proc/meminfo</c> (one read, no process started); <see langword="null"/> when unreadable.
    /// </summary>
    public static long? ReadMemoryTotal(string meminfo = "/proc/meminfo")
    {
        try
        {
            foreach (var line in File.ReadLines(meminfo))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kib) && kib > 0
                        ? kib * 1024
                        : null;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}
