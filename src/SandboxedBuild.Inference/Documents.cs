using System.Text.Json;
using System.Text.Json.Serialization;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Inference;

/// <summary>
/// The JSON documents the inference library writes and reads back, as one set of types with a
/// source-generated serializer (no reflection: the CLI publishes with Native AOT). Reading is
/// strict: a member missing or twice, a <c>null</c> where the type holds none, a value of another
/// kind is a <see cref="JsonException"/>, which every reader takes as a damaged file (a cache miss,
/// nothing approved), never as a crash. The serializer does not check the elements of collections
/// against nullability; <see cref="Documents.NoNulls"/> does.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(ProjectCacheDocument))]
[JsonSerializable(typeof(TrustDocument))]
internal sealed partial class InferenceJson : JsonSerializerContext;

/// <summary>The serializer of the documents the inference library prints (written only).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(StepPolicyDocument))]
internal sealed partial class PrintedJson : JsonSerializerContext;

/// <summary>
/// A step's policy as <c>dotnet sandbox policy --format json</c> prints it: the policy document,
/// then the step, its command, the project and the project's widenings, approved and pending.
/// </summary>
public sealed record StepPolicyDocument : PolicyDocument
{
    /// <summary>An empty document, for the serializer.</summary>
    public StepPolicyDocument()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    private StepPolicyDocument(PolicyDocument policy)
        : base(policy)
    {
        Step = Project = RepositoryRoot = string.Empty;
        Command = [];
        ApprovedWidenings = PendingWidenings = [];
    }

    /// <summary>The step, lower case.</summary>
    [JsonPropertyOrder(1)]
    public required string Step { get; init; }

    /// <summary>The command the step runs.</summary>
    [JsonPropertyOrder(1)]
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>The project or solution.</summary>
    [JsonPropertyOrder(1)]
    public required string Project { get; init; }

    /// <summary>Its repository.</summary>
    [JsonPropertyOrder(1)]
    public required string RepositoryRoot { get; init; }

    /// <summary>The widenings the project's files ask for that the user approved: in effect.</summary>
    [JsonPropertyOrder(1)]
    public required IReadOnlyList<WideningEntry> ApprovedWidenings { get; init; }

    /// <summary>The widenings asked for and not approved: not in effect.</summary>
    [JsonPropertyOrder(1)]
    public required IReadOnlyList<WideningEntry> PendingWidenings { get; init; }

    /// <summary>The document of <paramref name="step"/>'s <paramref name="plan"/>, each reason in <paramref name="wording"/>'s words.</summary>
    public static StepPolicyDocument From(StepPlan plan, WorkflowStep step, IReadOnlyList<string> command, string project, string repositoryRoot, IRemedyWording? wording = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return new StepPolicyDocument(PolicyDocument.From(plan.Policy, wording))
        {
            Step = step.ToString().ToLowerInvariant(),
            Command = command,
            Project = project,
            RepositoryRoot = repositoryRoot,
            ApprovedWidenings = [.. plan.Applied.Select(WideningEntry.From)],
            PendingWidenings = [.. plan.Pending.Select(WideningEntry.From)],
        };
    }

    /// <summary>The document as printed: indented JSON and a newline.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, PrintedJson.Default.StepPolicyDocument) + System.Environment.NewLine;
}

/// <summary>A <see cref="ProjectWidening"/> as a document holds it.</summary>
/// <param name="Kind"><c>host</c>, <c>write</c> or <c>read</c>.</param>
/// <param name="Value">The host pattern or the path.</param>
/// <param name="Origin">Where it comes from, in words.</param>
/// <param name="Steps">The steps it applies to, lower case.</param>
public sealed record WideningEntry(string Kind, string Value, string Origin, IReadOnlyList<string> Steps)
{
    /// <summary>The entry of <paramref name="widening"/>.</summary>
    public static WideningEntry From(ProjectWidening widening)
    {
        ArgumentNullException.ThrowIfNull(widening);
        return new(widening.Kind.ToString().ToLowerInvariant(), widening.Value, widening.Origin, [.. widening.Steps.Select(s => s.ToString().ToLowerInvariant())]);
    }
}

/// <summary>The inference cache of one entry (<c>~/.cache/dotnet-sandbox/projects/*.json</c>).</summary>
/// <param name="Version">The format; another one is a miss.</param>
/// <param name="Entry">The project or solution the model is of.</param>
/// <param name="RepositoryRoot">The repository it was inferred in.</param>
/// <param name="Environment">The hash of the variables the evaluation saw.</param>
/// <param name="Inputs">The files the model depends on, in the order they are found.</param>
/// <param name="Projects">What the evaluation answered for each project.</param>
/// <param name="Feeds">The hosts each feed's service index names.</param>
internal sealed record ProjectCacheDocument(
    int Version,
    string Entry,
    string RepositoryRoot,
    string Environment,
    IReadOnlyList<CachedInput> Inputs,
    IReadOnlyList<CachedProject> Projects,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Feeds)
{
    /// <summary>Throws <see cref="JsonException"/> for a <c>null</c> inside a collection, which the serializer lets through.</summary>
    public ProjectCacheDocument Checked()
    {
        Documents.NoNulls(Inputs);
        Documents.NoNulls(Projects);
        foreach (var p in Projects)
        {
            Documents.NoNulls(p.Intermediate);
            Documents.NoNulls(p.Output);
            Documents.NoNulls(p.RestoreSources);
            Documents.NoNulls(p.FallbackFolders);
            Documents.NoNulls(p.ProjectReferences);
            Documents.NoNulls(p.AllowedHosts);
        }

        foreach (var hosts in Feeds.Values)
        {
            Documents.NoNulls(hosts);
        }

        return this;
    }
}

/// <summary>One input of the cache: its path and what it was when the model was made.</summary>
/// <param name="Path">The file.</param>
/// <param name="Stamp">Its size and modification time.</param>
/// <param name="Sha256">Its contents' hash.</param>
internal sealed record CachedInput(string Path, string Stamp, string Sha256);

/// <summary>A <see cref="ProjectEvaluation"/> as the cache holds it.</summary>
internal sealed record CachedProject(
    string Project,
    IReadOnlyList<SourcedPath> Intermediate,
    IReadOnlyList<SourcedPath> Output,
    string? ArtifactsPath,
    string? RestorePackagesPath,
    IReadOnlyList<string> RestoreSources,
    IReadOnlyList<string> FallbackFolders,
    bool IsTestProject,
    string? TestResultsDirectory,
    IReadOnlyList<string> ProjectReferences,
    IReadOnlyList<string> AllowedHosts,
    string? NuGetLockFilePath,
    string? RestorePackagesWithLockFile)
{
    /// <summary>The cache's form of <paramref name="p"/>.</summary>
    public static CachedProject From(ProjectEvaluation p) => new(
        p.ProjectPath, p.IntermediateDirectories, p.OutputDirectories, p.ArtifactsPath, p.RestorePackagesPath,
        p.RestoreSources, p.FallbackFolders, p.IsTestProject, p.TestResultsDirectory, p.ProjectReferences, p.AllowedHosts,
        p.NuGetLockFilePath, p.RestorePackagesWithLockFile);

    /// <summary>The evaluation it holds.</summary>
    public ProjectEvaluation ToEvaluation() => new(
        Project, [.. Intermediate], [.. Output], ArtifactsPath, RestorePackagesPath, [.. RestoreSources], [.. FallbackFolders],
        IsTestProject, TestResultsDirectory, [.. ProjectReferences], [.. AllowedHosts], NuGetLockFilePath, RestorePackagesWithLockFile);
}

/// <summary>The user's approvals (<c>~/.config/dotnet-sandbox/trusted.json</c>).</summary>
/// <param name="Approved">For each entry, the approved keys and what each one allows, in words.</param>
internal sealed record TrustDocument(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string?>> Approved);

/// <summary>Checks the serializer leaves to its callers.</summary>
internal static class Documents
{
    /// <summary>Throws <see cref="JsonException"/> when <paramref name="items"/> holds a <c>null</c>.</summary>
    public static void NoNulls<T>(IEnumerable<T> items)
    {
        if (items.Any(i => i is null))
        {
            throw new JsonException("a null where the document holds a value");
        }
    }
}
