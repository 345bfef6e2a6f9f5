using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// Against the real NuGet feed, through the proxy: the default preset lets restores read from
/// api.nuget.org and nothing else. Skipped, visibly, when the feed is unreachable from this machine.
/// </summary>
[Collection(nameof(DotnetBuildTests))]
public sealed class NuGetFeedTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void The_feed_is_reachable_and_other_hosts_are_not(Identity id)
    {
        Cli.SkipIfRedundant(id);
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(id);
        var r = Cli.Sh(id, ws, "curl -sS --max-time 30 -o /dev/null -w '%{http_code}\\n' https://api.nuget.org/v3/index.json; curl -sS --max-time 30 -o /dev/null -w '%{http_code}\\n' https://www.nuget.org/; curl -sS --max-time 30 -o /dev/null -w '%{http_code}\\n' https://deb.debian.org/");
        Assert.Equal("200\n000\n000\n", r.StandardOutput);
        Assert.Contains("blocked: www.nuget.org:443 — not on the allowlist; allow with --allow-host www.nuget.org", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("blocked: deb.debian.org:443 — not on the allowlist; allow with --allow-host deb.debian.org", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Dotnet_restore_of_a_package_succeeds_through_the_proxy(Identity id)
    {
        Cli.SkipIfRedundant(id);
        Assets.SkipIfFeedUnreachable();
        using var ws = new Workspace(id);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Cli.TestAssets, "restore-from-nuget")))
        {
            File.Copy(file, Path.Combine(ws.Project, Path.GetFileName(file)), overwrite: true);
        }

        File.Copy(Path.Combine(Cli.TestAssets, "Directory.Build.props"), Path.Combine(ws.Home, "src", "Directory.Build.props"));
        ws.FixOwnership();

        // The packages folder outside the project is read-only to exec; this restore writes its own.
        var r = Cli.Run(id, ws, ["exec", "--", "dotnet", "restore", "--packages", "packages", "-nologo"], timeoutSeconds: 300);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.True(Directory.Exists(Path.Combine(ws.Project, "packages", "newtonsoft.json")), r.ToString());
        Assert.DoesNotContain("blocked: ", r.StandardError, StringComparison.Ordinal); // nothing restore needs is refused
    }
}
