namespace SandboxedBuild.Policy;

/// <summary>The explicit widenings a user asks for on the command line.</summary>
public sealed record ExecOptions
{
    /// <summary>Extra paths to make visible, read-only (<c>--allow-read</c>).</summary>
    public IReadOnlyList<string> AllowRead { get; init; } = [];

    /// <summary>Extra paths to make writable (<c>--allow-write</c>).</summary>
    public IReadOnlyList<string> AllowWrite { get; init; } = [];

    /// <summary>Names of caller variables to pass through (<c>--env</c>).</summary>
    public IReadOnlyList<string> PassVariables { get; init; } = [];

    /// <summary><c>NAME=VALUE</c> assignments (<c>--setenv</c>).</summary>
    public IReadOnlyList<string> SetVariables { get; init; } = [];
}
