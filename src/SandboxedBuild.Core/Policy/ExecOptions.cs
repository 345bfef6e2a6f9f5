namespace SandboxedBuild.Policy;

/// <summary>The explicit widenings a user asks for on the command line.</summary>
public sealed record ExecOptions
{
    /// <summary>Extra paths to make visible, read-only (<c>--allow-read</c>).</summary>
    public IReadOnlyList<string> AllowRead { get; init; } = [];

    /// <summary>Extra paths to make writable (<c>--allow-write</c>).</summary>
    public IReadOnlyList<string> AllowWrite { get; init; } = [];

    /// <summary>
    /// Directories the command itself is told to write (<c>dotnet test --results-directory DIR</c>,
    /// <c>dotnet build --output DIR</c>): writable as <see cref="AllowWrite"/> makes a path, under the
    /// same refusals, each named by the setting that gave it.
    /// </summary>
    public IReadOnlyList<CommandOutput> CommandOutputs { get; init; } = [];

    /// <summary>Names of caller variables to pass through (<c>--env</c>).</summary>
    public IReadOnlyList<string> PassVariables { get; init; } = [];

    /// <summary><c>NAME=VALUE</c> assignments (<c>--setenv</c>).</summary>
    public IReadOnlyList<string> SetVariables { get; init; } = [];

    /// <summary>How the sandbox reaches the network.</summary>
    public Network.NetworkMode NetworkMode { get; init; } = Network.NetworkMode.Filtered;

    /// <summary>Hosts to allow (<c>--allow-host</c>).</summary>
    public IReadOnlyList<string> AllowHosts { get; init; } = [];

    /// <summary>Hosts to refuse whatever else allows them (<c>--deny-host</c>).</summary>
    public IReadOnlyList<string> DenyHosts { get; init; } = [];

    /// <summary>Extra presets (<c>--preset</c>).</summary>
    public IReadOnlyList<string> Presets { get; init; } = [];

    /// <summary>Leave out the presets that are on by default (<c>--no-default-presets</c>).</summary>
    public bool NoDefaultPresets { get; init; }

    /// <summary>Hosts the user allowed for good in earlier runs (user configuration, trusted).</summary>
    public IReadOnlyList<Network.HostRule> SavedHosts { get; init; } = [];

    /// <summary>How the host names these settings in the errors and warnings about them (the CLI: <c>--allow-read</c>); neutral when <see langword="null"/>.</summary>
    public Network.IRemedyWording? Wording { get; init; }

    /// <summary>The loopback port the proxy is reached on inside the sandbox.</summary>
    public int ProxyPort { get; init; } = 3128;

    /// <summary>The size of each private tmpfs in bytes (<c>--tmpfs-size</c>); the default when <see langword="null"/>.</summary>
    public long? TmpfsSize { get; init; }

    /// <summary>The process bound (<c>--max-processes</c>); the default when <see langword="null"/>.</summary>
    public int? MaxProcesses { get; init; }
}

/// <summary>A directory the command is told to write, and the setting that told it (<c>results-directory</c>, <c>output</c>).</summary>
/// <param name="Setting">The setting, in the words <see cref="Network.IRemedyWording.Setting"/> takes.</param>
/// <param name="Path">The path as given; a relative one is taken from the working directory.</param>
public sealed record CommandOutput(string Setting, string Path);
