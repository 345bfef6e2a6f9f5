namespace SandboxedBuild.Policy;

/// <summary>What policy building needs to know about the caller and the machine.</summary>
/// <param name="HomeDirectory">The caller's home directory.</param>
/// <param name="WorkingDirectory">The absolute directory the command runs in.</param>
/// <param name="Variables">The caller's environment.</param>
/// <param name="FileSystem">The host file system.</param>
public sealed record HostFacts(
    string HomeDirectory,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string> Variables,
    IFileSystem FileSystem)
{
    /// <summary>The machine's memory in bytes, if known: the default tmpfs size derives from it.</summary>
    public long? MemoryTotal { get; init; }

    /// <summary>Whether the caller's real uid is 0: the kernel does not hold uid 0 to a process bound.</summary>
    public bool IsRoot { get; init; }

    /// <summary>
    /// Where a pids cgroup per sandbox can be made (<see langword="null"/> when nowhere), and why:
    /// the process bound that holds for root callers.
    /// </summary>
    public string? PidsCgroupParent { get; init; }

    /// <summary>Why <see cref="PidsCgroupParent"/> is what it is, in words for <c>doctor</c>.</summary>
    public string PidsCgroupWhy { get; init; } = "not looked for";

    /// <summary>Reads the facts of the current process.</summary>
    /// <param name="workingDirectory">Overrides the current directory when not <see langword="null"/>.</param>
    public static HostFacts Current(string? workingDirectory = null)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            variables[(string)entry.Key] = (string?)entry.Value ?? string.Empty;
        }

        var cwd = System.Environment.CurrentDirectory;
        var home = variables.TryGetValue("HOME", out var h) && h.Length > 0
            ? h
            : System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);
        var isRoot = OperatingSystem.IsLinux() && Interop.ProcessLimit.RealUserIsRoot();
        var (cgroupParent, cgroupWhy) = OperatingSystem.IsLinux() ? Interop.PidsCgroup.FindParent(isRoot) : (null, "not Linux");
        return new HostFacts(
            PathUtil.Normalize(home, "/"),
            PathUtil.Normalize(workingDirectory ?? cwd, cwd),
            variables,
            HostFileSystem.Instance)
        {
            MemoryTotal = ResourceBounds.ReadMemoryTotal(),
            IsRoot = isRoot,
            PidsCgroupParent = cgroupParent,
            PidsCgroupWhy = cgroupWhy,
        };
    }
}
