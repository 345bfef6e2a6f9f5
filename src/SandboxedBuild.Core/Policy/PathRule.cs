using SandboxedBuild.Network;

namespace SandboxedBuild.Policy;

/// <summary>What the sandboxed command may do with a path.</summary>
/// <remarks>
/// The most specific rule wins: a rule for <c>/home/u/src/app</c> overrides the one for <c>/home/u</c>.
/// The values speak of access, not of mounts, so that every backend can render them.
/// </remarks>
public enum PathAccess
{
    /// <summary>Visible, read-only.</summary>
    ReadOnly,

    /// <summary>Visible and writable; changes persist on the host.</summary>
    ReadWrite,

    /// <summary>An empty, writable directory private to this run; discarded when the sandbox exits.</summary>
    Scratch,

    /// <summary>Present but empty and read-only: what the host has there is invisible.</summary>
    Hidden,

    /// <summary>
    /// Read-only inside a writable tree, whether or not it exists yet: a missing path is held by an
    /// empty read-only placeholder for the run so that the command cannot create it.
    /// </summary>
    Protected,
}

/// <summary>Whether a protected path that does not exist yet should be held as a file or a directory.</summary>
public enum PathKind
{
    /// <summary>A directory (for example <c>.git/hooks</c>).</summary>
    Directory,

    /// <summary>A regular file (for example <c>.git/config</c>).</summary>
    File,
}

/// <summary>One entry of the policy's file system part, with the reason it is there.</summary>
/// <param name="Path">An absolute, normalized path.</param>
/// <param name="Access">What the command may do with it.</param>
/// <param name="Why">Why the entry exists, in words a reviewer can check; for a rule from a user's setting, without the host's words for the setting (<see cref="Origin"/>).</param>
/// <param name="Kind">For <see cref="PathAccess.Protected"/>: what to hold the path with if it is missing.</param>
/// <param name="RemoveIfCreated">
/// For <see cref="PathAccess.Protected"/> paths that cannot be held by a placeholder because the
/// tools that read them fail on one (git dies on an unreadable <c>.git/commondir</c>): if the command
/// creates the path, it is removed after the run, with a warning.
/// </param>
/// <param name="CreateIfMissing">
/// For <see cref="PathAccess.ReadWrite"/> output directories (obj/, bin/): the caller creates the
/// directory on the host before the run if it is missing, so that it can be bound writable; it stays.
/// </param>
/// <param name="Source">
/// For <see cref="PathAccess.ReadOnly"/>: show this host file at <paramref name="Path"/> instead of
/// what is there (a sanitized copy of a configuration file).
/// </param>
/// <param name="Origin">Where the entry comes from; <see langword="null"/> for the sandbox's own defaults.</param>
public sealed record PathRule(string Path, PathAccess Access, string Why, PathKind Kind = PathKind.Directory, bool RemoveIfCreated = false, bool CreateIfMissing = false, string? Source = null, Origin? Origin = null)
{
    /// <summary>The whole reason, with the origin in <paramref name="wording"/>'s words.</summary>
    public string Reason(IRemedyWording wording) => (Origin ?? Network.Origin.BuiltIn).Reason(Why, wording);

    /// <summary>The whole reason in neutral words (<see cref="RemedyWording.Neutral"/>).</summary>
    public string Reason() => Reason(RemedyWording.Neutral);
}
