namespace SandboxedBuild.Linux;

/// <summary>
/// What <see cref="BwrapSpawn.SpawnAndWait"/> starts bubblewrap for: its arguments and
/// environment, and who admits the sandbox before its command is let go. In the host's own process
/// that is the run's <see cref="LaunchScope"/>; in a supervisor a host started itself, it is the
/// host, asked over the supervisor's channel (<see cref="Supervisor"/>).
/// </summary>
internal interface ISpawnSite
{
    /// <summary>The bubblewrap executable.</summary>
    string Bwrap { get; }

    /// <summary>bubblewrap's arguments, the status and block descriptors still to be filled in.</summary>
    IReadOnlyList<string> Arguments { get; }

    /// <summary>The sandbox's environment, <c>NAME=value</c>.</summary>
    IEnumerable<string> Environment { get; }

    /// <summary>How far below the sandbox's init the command runs: 1, or 2 behind the network bridge.</summary>
    int CommandDepth { get; }

    /// <summary>Whether the sandbox whose init is <paramref name="init"/> may go on (its mounts checked, its process bound set).</summary>
    /// <exception cref="Errors.SandboxException">It must not, for a coded reason.</exception>
    bool Admit(int init, Func<bool> stop);

    /// <summary>The command was let go.</summary>
    void Started(int init);

    /// <summary>bubblewrap exited.</summary>
    void Ended();
}
