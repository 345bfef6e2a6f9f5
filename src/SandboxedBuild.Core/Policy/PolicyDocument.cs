using System.Text.Json;
using System.Text.Json.Serialization;
using SandboxedBuild.Network;

namespace SandboxedBuild.Policy;

/// <summary>
/// A policy as the JSON document <c>--print-policy --format json</c> and <c>dotnet sandbox policy
/// --format json</c> print (schema version <see cref="PolicyWriter.JsonSchemaVersion"/>): the one set
/// of types its shape is, written by a source-generated serializer. Every reason is in the host's
/// words; every <c>origin</c> says the same as data. Hosts that add to it (the project commands'
/// step and widenings) derive from it.
/// </summary>
public record PolicyDocument
{
    /// <summary>The version of the shape.</summary>
    public int SchemaVersion { get; init; } = PolicyWriter.JsonSchemaVersion;

    /// <summary>The sandbox's working directory.</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>Every path rule, shallowest first.</summary>
    public required IReadOnlyList<PathEntry> Paths { get; init; }

    /// <summary>The network part.</summary>
    public required NetworkEntry Network { get; init; }

    /// <summary>The resource bounds.</summary>
    public required BoundsEntry Bounds { get; init; }

    /// <summary>The sandbox's environment; values that look like secrets masked.</summary>
    public required IReadOnlyList<EnvironmentVariableEntry> Environment { get; init; }

    /// <summary>The document of <paramref name="policy"/>, each reason in <paramref name="wording"/>'s words (neutral when <see langword="null"/>).</summary>
    public static PolicyDocument From(SandboxPolicy policy, IRemedyWording? wording = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var words = wording ?? RemedyWording.Neutral;
        var network = policy.Network;
        var filtered = network.Mode != NetworkMode.None;
        return new PolicyDocument
        {
            WorkingDirectory = policy.WorkingDirectory,
            Paths = [.. policy.Paths.Select(r => new PathEntry(r.Path, PolicyWriter.Label(r.Access), r.Reason(words), OriginEntry.From(r.Origin)))],
            Network = new NetworkEntry(
                network.Mode.ToString().ToLowerInvariant(),
                network.Reason,
                filtered ? network.ProxyPort : null,
                filtered ? Rules(network.Allow, words) : null,
                filtered ? Rules(network.Deny, words) : null),
            Bounds = new BoundsEntry(
                policy.Bounds.TmpfsBytes,
                policy.Bounds.TmpfsReason,
                policy.Bounds.MaxProcesses,
                policy.Bounds.MaxProcessesReason,
                policy.Bounds.ProcessBoundEnforced,
                policy.Bounds.ProcessBoundBy,
                policy.Bounds.PidsCgroupParent),
            Environment = [.. policy.Environment.Select(e => new EnvironmentVariableEntry(e.Name, e.LooksSecret ? PolicyWriter.Masked : e.Value, e.Reason(words), OriginEntry.From(e.Origin)))],
        };
    }

    private static List<HostRuleEntry> Rules(IEnumerable<HostRule> rules, IRemedyWording words) =>
        [.. rules.Select(r => new HostRuleEntry(r.Host, r.Port, r.Reason(words), OriginEntry.From(r.Origin)))];
}

/// <summary>One path rule.</summary>
/// <param name="Path">The path.</param>
/// <param name="Access"><c>read</c>, <c>write</c>, <c>private</c>, <c>hidden</c> or <c>protected</c>.</param>
/// <param name="Reason">Why, in the host's words.</param>
/// <param name="Origin">Where it comes from, as data.</param>
public sealed record PathEntry(string Path, string Access, string Reason, OriginEntry Origin);

/// <summary>The network part of a policy.</summary>
/// <param name="Mode"><c>none</c>, <c>filtered</c> or <c>audit</c>.</param>
/// <param name="Reason">Why.</param>
/// <param name="ProxyPort">The bridge's port on the sandbox's loopback; left out without network.</param>
/// <param name="Allow">The allowed hosts; left out without network.</param>
/// <param name="Deny">The denied hosts; left out without network.</param>
public sealed record NetworkEntry(
    string Mode,
    string Reason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ProxyPort,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<HostRuleEntry>? Allow,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<HostRuleEntry>? Deny);

/// <summary>One allowed or denied host.</summary>
/// <param name="Host">The host pattern.</param>
/// <param name="Port">The port; <c>null</c> for any.</param>
/// <param name="Reason">Why, in the host's words.</param>
/// <param name="Origin">Where it comes from, as data.</param>
public sealed record HostRuleEntry(string Host, int? Port, string Reason, OriginEntry Origin);

/// <summary>The resource bounds of a policy.</summary>
/// <param name="TmpfsBytes">The size of each private tmpfs.</param>
/// <param name="TmpfsReason">Where it comes from.</param>
/// <param name="MaxProcesses">The most processes in the sandbox.</param>
/// <param name="MaxProcessesReason">Where it comes from.</param>
/// <param name="ProcessBoundEnforced">Whether anything holds the sandbox to it.</param>
/// <param name="ProcessBoundBy">What holds it (RLIMIT_NPROC, a pids cgroup) or why nothing does.</param>
/// <param name="PidsCgroupParent">Where the pids cgroup is made, or <c>null</c>.</param>
public sealed record BoundsEntry(long TmpfsBytes, string TmpfsReason, int MaxProcesses, string MaxProcessesReason, bool ProcessBoundEnforced, string ProcessBoundBy, string? PidsCgroupParent)
{
    /// <summary>No memory bound yet: always <c>null</c>, kept in the shape for when there is one.</summary>
    public long? MaxMemory { get; init; }
}

/// <summary>One variable of the sandbox's environment.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Value">Its value, masked when it looks like a secret.</param>
/// <param name="Reason">Why it is there, in the host's words.</param>
/// <param name="Origin">Where it comes from, as data.</param>
public sealed record EnvironmentVariableEntry(string Name, string Value, string Reason, OriginEntry Origin);

/// <summary>Where an entry comes from (<see cref="Network.Origin"/>) as the document holds it; members not known are left out.</summary>
/// <param name="Kind">The kind, camel case: <c>builtIn</c>, <c>setting</c>, <c>preset</c>….</param>
/// <param name="Name">The setting, preset, property, item or feed.</param>
/// <param name="File">The file it is in.</param>
/// <param name="Given">For a path typed relative: what was typed.</param>
/// <param name="ResolvedAgainst">For a path typed relative: what it was resolved against.</param>
public sealed record OriginEntry(
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? File,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Given,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ResolvedAgainst)
{
    /// <summary>The entry of <paramref name="origin"/>; built in when <see langword="null"/>.</summary>
    public static OriginEntry From(Origin? origin)
    {
        origin ??= Origin.BuiltIn;
        return new(JsonNamingPolicy.CamelCase.ConvertName(origin.Kind.ToString()), origin.Name, origin.File, origin.Given, origin.ResolvedAgainst);
    }
}

/// <summary>The serializer of <see cref="PolicyDocument"/>, generated at build time (no reflection: the CLI publishes with Native AOT).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(PolicyDocument))]
internal sealed partial class PolicyJson : JsonSerializerContext;
