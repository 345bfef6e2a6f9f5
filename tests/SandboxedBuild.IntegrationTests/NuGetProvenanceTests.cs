using System.Text.RegularExpressions;
using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// Where a NuGet setting comes from decides whether it applies unasked: a NuGet.config in the
/// repository (even in a path with a space) or in any directory above it is the project's, and what
/// it asks for waits for approval; the user's own config applies as before. Real restores, real
/// bubblewrap; every check is made on the host.
/// </summary>
[Collection(nameof(DotnetBuildTests))]
public sealed class NuGetProvenanceTests
{
    // A restore-time target that writes through the packages folder, as a hostile project would.
    private const string Project = """
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <TargetFramework>net10.0</TargetFramework>
          </PropertyGroup>
          <Target Name="Plant" AfterTargets="Restore">
            <WriteLinesToFile File="$(NUGET_PACKAGES)/authorized_keys" Lines="ssh-ed25519 AAAA-planted attacker" Overwrite="true" ContinueOnError="true" />
          </Target>
        </Project>
        """;

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_repository_config_in_a_path_with_a_space_does_not_get_the_ssh_folder(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var ssh = Path.Combine(ws.Home, ".ssh");
        var repo = Repository(ws, Path.Combine(ws.Home, "src", "my repo"));
        var config = Path.Combine(repo, "NuGet.config");
        File.WriteAllText(config, $"""<configuration><config><add key="globalPackagesFolder" value="{ssh}" /></config><packageSources><clear /></packageSources></configuration>""");
        ws.FixOwnership();

        var policy = Cli.Run(id, ws, ["policy", Path.Combine(repo, "App.csproj"), "--step", "restore"]);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        Assert.DoesNotMatch(Granted("write", ssh), policy.StandardOutput);
        Assert.Contains($"\n  write {ssh} (restore) — globalPackagesFolder in {config}\n", policy.StandardOutput, StringComparison.Ordinal); // listed as waiting for approval

        var restore = Cli.Run(id, ws, ["restore", Path.Combine(repo, "App.csproj")], timeoutSeconds: 300);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.True(File.Exists(Path.Combine(repo, "obj", "project.assets.json")), restore.ToString()); // the restore ran
        Assert.False(File.Exists(Path.Combine(ssh, "authorized_keys")), restore.ToString());
        Assert.Equal(["id_ed25519"], Directory.EnumerateFileSystemEntries(ssh).Select(Path.GetFileName));

        // The legitimate variant: the same folder setting in the user's own config, pointing at a real
        // packages folder, is bound without approval and the restore writes there.
        var own = Path.Combine(ws.Home, "own packages");
        Directory.CreateDirectory(own);
        File.WriteAllText(config, """<configuration><packageSources><clear /></packageSources></configuration>""");
        UserConfig(ws, $"""<configuration><config><add key="globalPackagesFolder" value="{own}" /></config><packageSources><clear /></packageSources></configuration>""");
        ws.FixOwnership();
        var trusted = Cli.Run(id, ws, ["restore", Path.Combine(repo, "App.csproj")], timeoutSeconds: 300);
        Assert.True(trusted.ExitCode == 0, trusted.ToString());
        Assert.DoesNotContain("SBX3012", trusted.StandardError, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(own, "authorized_keys")), trusted.ToString());
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_config_above_the_repository_gets_no_folder_no_feed_and_no_service_index_request(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var feed = new LoopbackNuGetFeed(Directory.CreateDirectory(Path.Combine(ws.Root, "feed")).FullName);
        var ssh = Path.Combine(ws.Home, ".ssh");
        var above = Path.Combine(ws.Home, "ws", "NuGet.config");
        var repo = Repository(ws, Path.Combine(ws.Home, "ws", "repo"));
        var planted = $"""
            <configuration>
              <config><add key="globalPackagesFolder" value="{ssh}" /></config>
              <packageSources><clear /><add key="planted" value="{feed.IndexUrl}" /></packageSources>
            </configuration>
            """;
        File.WriteAllText(above, planted);
        ws.FixOwnership();

        var policy = Cli.Run(id, ws, ["policy", Path.Combine(repo, "App.csproj"), "--step", "restore"]);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        Assert.Contains($"warning SBX3022: '{above}' is a NuGet.config above the repository", policy.StandardError, StringComparison.Ordinal);
        Assert.Contains($"\n  write {ssh} (restore) — globalPackagesFolder in {above}\n", policy.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"\n  reach 127.0.0.1:{feed.Port} (restore) — source 'planted' in {above}\n", policy.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotMatch(Granted("write", ssh), policy.StandardOutput);
        Assert.DoesNotMatch(Granted("allow", "127.0.0.1"), policy.StandardOutput); // neither allowed nor forwarded
        Assert.Empty(feed.Requests); // no service-index request from the host for a URL the sandbox could have written

        var restore = Cli.Run(id, ws, ["restore", Path.Combine(repo, "App.csproj")], timeoutSeconds: 300);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.False(File.Exists(Path.Combine(ssh, "authorized_keys")), restore.ToString());
        Assert.Empty(feed.Requests);

        // The legitimate variant: the same feed in the user's own config is trusted, so its service
        // index is read from the host and its host allowed without approval.
        File.Delete(above);
        UserConfig(ws, $"""<configuration><packageSources><clear /><add key="team" value="{feed.IndexUrl}" /></packageSources></configuration>""");
        ws.FixOwnership();
        var trusted = Cli.Run(id, ws, ["policy", Path.Combine(repo, "App.csproj"), "--step", "restore", "--no-cache"]);
        Assert.True(trusted.ExitCode == 0, trusted.ToString());
        Assert.DoesNotContain("SBX3012", trusted.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("SBX3022", trusted.StandardError, StringComparison.Ordinal);
        Assert.Matches(Granted("allow", $"127.0.0.1:{feed.Port}"), trusted.StandardOutput);
        Assert.Contains("/v3/index.json", feed.Requests);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void The_restore_sees_a_user_config_without_its_secrets(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var repo = Repository(ws, Path.Combine(ws.Home, "src", "clean"));
        File.WriteAllText(Path.Combine(repo, "NuGet.config"), "<configuration />");
        var user = UserConfig(ws, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <!-- password: {ws.Bait}-comment -->
            <configuration>
              <packageSources>
                <clear />
                <add key="sas" value="https://store.example.com/feed/index.json?sv=1&amp;sig={ws.Bait}-sig" />
                <add key="myget" value="https://www.myget.org/F/team/auth/{ws.Bait}/api/v3/index.json" />
              </packageSources>
              <packageSourceCredentials><sas><add key="Username" value="me" /><add key="ClearTextPassword" value="{ws.Bait}-cred" /></sas></packageSourceCredentials>
              <config><add key="teamToken" value="{ws.Bait}-key" /></config>
            </configuration>
            """);
        ws.FixOwnership();

        var r = Cli.Run(id, ws, ["exec", "--", "/bin/cat", user]);
        Assert.DoesNotContain(ws.Bait, r.StandardOutput, StringComparison.Ordinal); // exec shows no user config at all, or a clean one

        File.WriteAllText(Path.Combine(repo, "App.csproj"), Project.Replace(
            "<Target Name=\"Plant\" AfterTargets=\"Restore\">",
            $"<Target Name=\"Show\" AfterTargets=\"Restore\"><Message Importance=\"high\" Text=\"$([System.IO.File]::ReadAllText('{user}'))\" /></Target><Target Name=\"Plant\" AfterTargets=\"Restore\">",
            StringComparison.Ordinal));
        ws.FixOwnership();
        var restore = Cli.Run(id, ws, ["restore", Path.Combine(repo, "App.csproj")], timeoutSeconds: 300);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.DoesNotContain(ws.Bait, restore.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("https://store.example.com/feed/index.json", restore.StandardOutput, StringComparison.Ordinal); // the feed is there, without its signature
        Assert.Contains("warning SBX3020: package source 'myget' is left out", restore.StandardError, StringComparison.Ordinal);

        // Malformed (a DTD with an external entity): a coded error, no stack trace, nothing of the entity's
        // target. NuGet's own reader refuses it first (SBX3008); the sanitizer would too (SBX3021, unit-tested).
        File.WriteAllText(user, """<?xml version="1.0"?><!DOCTYPE c [<!ENTITY e SYSTEM "file:///etc/passwd">]><configuration>&e;</configuration>""");
        var broken = Cli.Run(id, ws, ["restore", Path.Combine(repo, "App.csproj")], timeoutSeconds: 300);
        Assert.Equal(125, broken.ExitCode);
        Assert.Matches("dotnet-sandbox: (error )?SBX30(08|21): ", broken.StandardError);
        Assert.DoesNotContain("   at ", broken.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("root:x:0", broken.StandardError + broken.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>A line of the policy's text that grants <paramref name="what"/> (not one of the pending list, which has a single space).</summary>
    private static Regex Granted(string verb, string what) => new($@"(?m)^  {verb}\s{{2,}}{Regex.Escape(what)}\s");

    /// <summary>A git repository with one project (<see cref="Project"/>) and the standalone Directory.Build.props.</summary>
    private static string Repository(Workspace ws, string path)
    {
        Directory.CreateDirectory(path);
        var init = Cli.Exec("git", "init", "-q", path);
        Assert.True(init.ExitCode == 0, init.ToString());
        File.WriteAllText(Path.Combine(path, "App.csproj"), Project);
        File.WriteAllText(Path.Combine(path, "Program.cs"), "System.Console.WriteLine(\"hi\");\n");
        File.Copy(Path.Combine(Cli.TestAssets, "Directory.Build.props"), Path.Combine(path, "Directory.Build.props"));
        return path;
    }

    private static string UserConfig(Workspace ws, string xml)
    {
        var path = Path.Combine(ws.Home, ".nuget", "NuGet", "NuGet.Config");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, xml);
        return path;
    }
}
