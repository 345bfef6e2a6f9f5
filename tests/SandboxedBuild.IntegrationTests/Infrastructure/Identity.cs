namespace SandboxedBuild.IntegrationTests.Infrastructure;

/// <summary>Who runs the tool: the test process's own user, or an unprivileged one.</summary>
public enum Identity
{
    /// <summary>The user running the tests (root in CI).</summary>
    Current,

    /// <summary>An unprivileged user; created when the tests run as root.</summary>
    Unprivileged,
}
