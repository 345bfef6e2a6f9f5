namespace SandboxedBuild.Policy;

/// <summary>
/// How a run is stopped from outside: by the host's cancellation, and, for a console host only, by
/// the signals sent to the host's own process.
/// </summary>
/// <remarks>
/// A library host (an MSBuild task, an MCP server, a test) keeps the default: no process-wide signal
/// handling is touched, and <see cref="Cancellation"/> stops the run. A console host that stands in
/// for the command at a terminal (the CLI) sets <see cref="RelayProcessSignals"/>: SIGINT, SIGTERM,
/// SIGHUP and SIGQUIT are then held for the length of each run and delivered to the command's process
/// group as a terminal would deliver them, and the same signal a second time ends the whole sandbox.
/// Either way, a stop that comes before the command started means it never starts (SBX4015, exit
/// status 128+N); the run's clean-up happens in both cases.
/// </remarks>
public sealed record RunControl
{
    /// <summary>Nothing but the default: no signal handling, no cancellation.</summary>
    public static RunControl None { get; } = new();

    /// <summary>What the CLI uses: this process's SIGINT, SIGTERM, SIGHUP and SIGQUIT are relayed to the command.</summary>
    public static RunControl ProcessSignals { get; } = new() { RelayProcessSignals = true };

    /// <summary>
    /// Hold SIGINT, SIGTERM, SIGHUP and SIGQUIT of this process for the length of the run, and relay
    /// them to the command; they no longer end this process meanwhile. Process-wide: for a host that is
    /// the command's stand-in at a terminal, never for a library host.
    /// </summary>
    public bool RelayProcessSignals { get; init; }

    /// <summary>
    /// Cancelling it stops the run: before the command started, it never starts; after, its process
    /// group gets SIGTERM, and a command still running after <see cref="CancelGrace"/> is killed with
    /// the whole sandbox (exit status 137, SBX4016).
    /// </summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>How long a cancelled command has after its SIGTERM (5 seconds unless set).</summary>
    public TimeSpan CancelGrace { get; init; } = TimeSpan.FromSeconds(5);
}
