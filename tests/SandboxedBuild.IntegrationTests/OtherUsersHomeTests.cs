using System.Text.Json;
using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// A project that names a directory in another user's home as its output. A root caller can reach
/// every home, so such a directory is refused outright, approved or not, and nothing is written there.
/// </summary>
[Collection(nameof(DotnetBuildTests))]
public sealed class OtherUsersHomeTests
{
    [Fact]
    public void An_output_path_in_another_users_home_is_refused_for_root_even_after_trust()
    {
        if (Environment.UserName != "root")
        {
            Assert.Skip("making a directory under /home needs root; the rule itself is unit-tested for every caller");
        }

        var other = "/home/sbx-it-other-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(other);
        try
        {
            using var ws = new Workspace(Identity.Current);
            Assets.CopyInto(ws, "hello");
            var csproj = Path.Combine(ws.Project, "hello.csproj");
            var original = File.ReadAllText(csproj);
            File.WriteAllText(csproj, original.Replace("</PropertyGroup>", $"<BaseOutputPath>{other}/out/</BaseOutputPath></PropertyGroup>", StringComparison.Ordinal));

            var policy = Cli.Run(Identity.Current, ws, ["policy", "--step", "build", "--format", "json"], timeoutSeconds: 300);
            Assert.True(policy.ExitCode == 0, policy.ToString());
            Assert.Contains("SBX3013", policy.StandardError, StringComparison.Ordinal);
            Assert.Contains("another user's home", policy.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain(Paths(policy.StandardOutput), p => p.StartsWith(other, StringComparison.Ordinal));

            // Not offered for approval, so approving everything changes nothing.
            var trust = Cli.Run(Identity.Current, ws, ["trust", "--yes"], timeoutSeconds: 300);
            Assert.DoesNotContain(other, trust.StandardOutput, StringComparison.Ordinal);
            _ = Cli.Run(Identity.Current, ws, ["build"], timeoutSeconds: 600);
            Assert.Empty(Directory.EnumerateFileSystemEntries(other));

            // The project with its default output builds.
            File.WriteAllText(csproj, original);
            var legit = Cli.Run(Identity.Current, ws, ["build"], timeoutSeconds: 600);
            Assert.True(legit.ExitCode == 0, legit.ToString());
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    private static List<string> Paths(string policyJson)
    {
        using var json = JsonDocument.Parse(policyJson);
        return [.. json.RootElement.GetProperty("paths").EnumerateArray().Select(p => p.GetProperty("path").GetString()!)];
    }
}
