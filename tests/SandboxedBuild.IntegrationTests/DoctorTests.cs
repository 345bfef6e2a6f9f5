using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

public sealed class DoctorTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Doctor_reports_every_attack_stopped(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Run(id, ws, ["doctor"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("[FAIL]", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("[ok  ] read a secret in the home directory", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("[ok  ] create a git hook", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("[ok  ] must work: write in the project", r.StandardOutput, StringComparison.Ordinal);
    }
}
