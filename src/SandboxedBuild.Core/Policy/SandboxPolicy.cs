using System.Collections.Immutable;
using SandboxedBuild.Network;

namespace SandboxedBuild.Policy;

/// <summary>
/// Everything a sandboxed command is allowed, as data: which paths it sees and may write, which
/// environment it gets, which network it reaches. Every entry carries the reason it is there.
/// </summary>
/// <param name="WorkingDirectory">Where the command starts.</param>
/// <param name="Paths">File system rules; the most specific path wins.</param>
/// <param name="Environment">The complete environment of the command.</param>
/// <param name="Network">The network rules.</param>
public sealed record SandboxPolicy(
    string WorkingDirectory,
    ImmutableArray<PathRule> Paths,
    ImmutableArray<EnvironmentEntry> Environment,
    NetworkPolicy Network)
{
    /// <summary>The resource bounds: tmpfs sizes and the process count.</summary>
    public ResourceBounds Bounds { get; init; } = ResourceBounds.For(null, null, null, callerIsRoot: false);

    /// <summary>
    /// The rule that decides <paramref name="path"/>: the one for the path itself or its nearest
    /// ancestor; <see langword="null"/> when no rule covers it (it does not exist in the sandbox).
    /// </summary>
    public PathRule? RuleFor(string path)
    {
        PathRule? best = null;
        foreach (var rule in Paths)
        {
            if (PathUtil.IsSameOrUnder(path, rule.Path) && (best is null || rule.Path.Length >= best.Path.Length))
            {
                best = rule;
            }
        }

        return best;
    }

    /// <summary>Whether the command can see the host's content at <paramref name="path"/>.</summary>
    public bool IsVisible(string path) => RuleFor(path)?.Access is PathAccess.ReadOnly or PathAccess.ReadWrite or PathAccess.Protected;

    /// <summary>The value the command sees for <paramref name="name"/>, if any.</summary>
    public string? GetEnvironmentValue(string name) => Environment.FirstOrDefault(e => e.Name == name)?.Value;
}
