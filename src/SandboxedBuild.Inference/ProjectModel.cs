using System.Collections.Immutable;

namespace SandboxedBuild.Inference;

/// <summary>Everything the step policies are inferred from: the projects' evaluations and the NuGet configuration.</summary>
/// <param name="Entry">The project or solution the user named.</param>
/// <param name="RepositoryRoot">The tree the steps see, read-only.</param>
/// <param name="Projects">Every project in the build: the solution's, and what they reference.</param>
/// <param name="NuGet">The effective NuGet configuration for the entry's directory.</param>
/// <param name="FeedHosts">For each trusted V3 source URL, the hosts its service index names.</param>
/// <param name="FromCache">Whether the evaluations came from the cache.</param>
/// <param name="Elapsed">How long inference took.</param>
public sealed record ProjectModel(
    string Entry,
    string RepositoryRoot,
    ImmutableArray<ProjectEvaluation> Projects,
    NuGetSettingsSnapshot NuGet,
    ImmutableDictionary<string, ImmutableArray<string>> FeedHosts,
    bool FromCache,
    TimeSpan Elapsed)
{
    /// <summary>The files the inference depends on (see <see cref="InferenceInputs.Collect"/>), as found on this run.</summary>
    public ImmutableArray<string> Inputs { get; init; } = [];
}
