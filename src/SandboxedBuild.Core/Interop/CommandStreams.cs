namespace SandboxedBuild.Interop;

/// <summary>Where a sandboxed command's standard input, output and error go.</summary>
public enum CommandStreams
{
    /// <summary>The caller's own, inherited.</summary>
    Inherited,

    /// <summary>All three on <c>/dev/null</c>.</summary>
    Discarded,

    /// <summary>
    /// Standard input and error inherited, standard output sent to the caller's standard error: a step
    /// whose output is progress (a build before <c>run</c>) leaves the caller's standard output to the
    /// command that comes after it.
    /// </summary>
    OutputToStandardError,
}
