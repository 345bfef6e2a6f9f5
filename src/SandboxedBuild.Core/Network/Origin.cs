namespace SandboxedBuild.Network;

/// <summary>What kind of thing put a rule in the policy.</summary>
public enum OriginKind
{
    /// <summary>The sandbox's own defaults: the system trees, protected names, the private temp directory.</summary>
    BuiltIn,

    /// <summary>A setting the user gave the host: an option of the CLI, a parameter of a task (<see cref="Origin.Name"/> is the setting's neutral name, such as <c>allow-read</c>).</summary>
    Setting,

    /// <summary>A named host preset (<see cref="Origin.Name"/>).</summary>
    Preset,

    /// <summary>Allowed at a prompt during this run.</summary>
    Prompt,

    /// <summary>Allowed always at a prompt earlier, kept in <see cref="Origin.File"/>.</summary>
    SavedHost,

    /// <summary>An MSBuild property (<see cref="Origin.Name"/>) of the project <see cref="Origin.File"/>.</summary>
    ProjectProperty,

    /// <summary>An MSBuild item (<see cref="Origin.Name"/>) of the project <see cref="Origin.File"/>.</summary>
    ProjectItem,

    /// <summary>The effective NuGet configuration (<see cref="Origin.File"/>, when one file says it).</summary>
    NuGetConfig,

    /// <summary>A feed's service index (<see cref="Origin.Name"/> is the feed's URL).</summary>
    ServiceIndex,
}

/// <summary>
/// Where a rule of the policy comes from, as data: its kind, the setting, property or item that
/// says it, and the file it is in. Hosts render it in their own words
/// (<see cref="IRemedyWording.FromSetting"/>); a JSON document or an MSBuild diagnostic reads the
/// fields, never the reason's text.
/// </summary>
/// <param name="Kind">What kind of thing put the rule there.</param>
/// <param name="Name">The setting, preset, property, item or feed that says it.</param>
/// <param name="File">The file it is in: a project, a NuGet configuration, the saved-hosts file.</param>
/// <param name="Given">For a path setting: what was typed, when it is not the absolute path it became.</param>
/// <param name="ResolvedAgainst">For a path setting given relative: the directory it was resolved against.</param>
public sealed record Origin(OriginKind Kind, string? Name = null, string? File = null, string? Given = null, string? ResolvedAgainst = null)
{
    /// <summary>The neutral names of the settings a host can give (the CLI spells them as options).</summary>
    public static class Settings
    {
        /// <summary>An extra readable path.</summary>
        public const string AllowRead = "allow-read";

        /// <summary>An extra writable path.</summary>
        public const string AllowWrite = "allow-write";

        /// <summary>An allowed host pattern.</summary>
        public const string AllowHost = "allow-host";

        /// <summary>A denied host pattern.</summary>
        public const string DenyHost = "deny-host";

        /// <summary>A variable passed through from the caller's environment.</summary>
        public const string Env = "env";

        /// <summary>A variable set to a value.</summary>
        public const string SetEnv = "setenv";

        /// <summary>A named set of allowed hosts.</summary>
        public const string Preset = "preset";

        /// <summary>The network turned off.</summary>
        public const string NoNetwork = "no-network";

        /// <summary>The size of each private tmpfs.</summary>
        public const string TmpfsSize = "tmpfs-size";

        /// <summary>The most processes in one sandbox.</summary>
        public const string MaxProcesses = "max-processes";

        /// <summary>The directory the command starts in, and may write.</summary>
        public const string Workdir = "workdir";
    }

    /// <summary>The sandbox's own defaults.</summary>
    public static Origin BuiltIn { get; } = new(OriginKind.BuiltIn);

    /// <summary>A setting the user gave; for a path, what was typed and what it was resolved against when it differs from <paramref name="path"/>.</summary>
    public static Origin Setting(string name, string? given = null, string? path = null, string? resolvedAgainst = null) =>
        given is null || string.Equals(given, path, StringComparison.Ordinal)
            ? new(OriginKind.Setting, name)
            : new(OriginKind.Setting, name, Given: given, ResolvedAgainst: resolvedAgainst);

    /// <summary>
    /// The words for this origin in front of a rule's own reason, or <see langword="null"/> when the
    /// reason says it all (every kind but <see cref="OriginKind.Setting"/>, whose reasons are written
    /// without the host's words for the setting).
    /// </summary>
    public string? Describe(IRemedyWording wording)
    {
        ArgumentNullException.ThrowIfNull(wording);
        if (Kind != OriginKind.Setting || Name is null)
        {
            return null;
        }

        var named = wording.FromSetting(Name);
        return Given is null ? named : $"{named} (given as '{Given}', resolved against the working directory '{ResolvedAgainst}')";
    }

    /// <summary>A rule's whole reason: this origin in <paramref name="wording"/>'s words, then <paramref name="why"/>.</summary>
    public string Reason(string why, IRemedyWording wording) =>
        Describe(wording) is { } origin ? (why.Length == 0 ? origin : origin + ": " + why) : why;
}
