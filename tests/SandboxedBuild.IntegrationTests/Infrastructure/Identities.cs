namespace SandboxedBuild.IntegrationTests.Infrastructure;

public static class Identities
{
    /// <summary>Every test runs once per identity: as the caller (root in CI) and as an unprivileged user.</summary>
    public static TheoryData<Identity> All => [Identity.Current, Identity.Unprivileged];
}
