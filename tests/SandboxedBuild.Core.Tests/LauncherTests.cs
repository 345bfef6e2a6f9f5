using System.Text.Json;
using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Core.Tests;

public sealed class LauncherTests
{
    private static readonly SandboxLauncher Launcher = new(FakeFileSystem.Debian());

    [Theory]
    [InlineData(0x0000, 0)]
    [InlineData(0x0300, 3)]
    [InlineData(0xff00, 255)]
    [InlineData(0x0002, 130)]
    [InlineData(0x0009, 137)]
    [InlineData(0x000f, 143)]
    public void Wait_status_decodes_like_a_shell(int status, int expected) =>
        Assert.Equal(expected, ChildProcess.DecodeWaitStatus(status));

    [Fact]
    public void Command_on_a_visible_path_resolves()
    {
        Assert.Equal("true", Launcher.ResolveCommand(TestHosts.Policy(), "true"));
        Assert.Equal("dotnet", Launcher.ResolveCommand(TestHosts.Policy(), "dotnet"));
    }

    [Fact]
    public void Missing_command_is_127_with_a_code()
    {
        var ex = Assert.Throws<SandboxException>(() => Launcher.ResolveCommand(TestHosts.Policy(), "no-such-tool"));
        Assert.Equal(("SBX1003", 127), (ex.Error.Code, ex.ExitCode));
    }

    [Fact]
    public void Command_in_the_hidden_home_is_127_and_says_how_to_allow_it()
    {
        var fs = FakeFileSystem.Debian().File("/home/dev/.dotnet/tools/dotnet-foo", executable: true);
        var ex = Assert.Throws<SandboxException>(() => new SandboxLauncher(fs).ResolveCommand(TestHosts.Policy(host: TestHosts.Create(fs)), "dotnet-foo"));
        Assert.Equal(("SBX1006", 127), (ex.Error.Code, ex.ExitCode));
        Assert.Contains("--allow-read /home/dev/.dotnet/tools", TestWordings.Option.Text(ex.Diagnostic), StringComparison.Ordinal);
    }

    [Fact]
    public void Non_executable_file_is_126()
    {
        var fs = FakeFileSystem.Debian().File(TestHosts.Project + "/build.sh");
        var ex = Assert.Throws<SandboxException>(() => new SandboxLauncher(fs).ResolveCommand(TestHosts.Policy(host: TestHosts.Create(fs)), "./build.sh"));
        Assert.Equal(("SBX1004", 126), (ex.Error.Code, ex.ExitCode));
    }

    [Fact]
    public void Json_policy_is_versioned_and_masks_secrets()
    {
        var policy = TestHosts.Policy(new ExecOptions { PassVariables = ["GITHUB_TOKEN"] });
        using var doc = JsonDocument.Parse(PolicyWriter.ToJson(policy));
        Assert.Equal(1, doc.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(TestHosts.Project, doc.RootElement.GetProperty("workingDirectory").GetString());
        var token = doc.RootElement.GetProperty("environment").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "GITHUB_TOKEN");
        Assert.DoesNotContain("ghp_bait", token.GetProperty("value").GetString()!, StringComparison.Ordinal);
        Assert.DoesNotContain("ghp_bait", PolicyWriter.ToText(policy), StringComparison.Ordinal);
    }

    [Fact]
    public void Json_policy_says_where_each_entry_comes_from_as_data_and_each_host_words_the_reason()
    {
        var fs = FakeFileSystem.Debian().Dir("/home/dev/src/out");
        var policy = TestHosts.Policy(new ExecOptions { AllowWrite = ["../out"], AllowHosts = ["pkgs.example.com"], PassVariables = ["GITHUB_TOKEN"] }, TestHosts.Create(fs));
        using var doc = JsonDocument.Parse(PolicyWriter.ToJson(policy, TestWordings.Option));
        var root = doc.RootElement;
        var written = root.GetProperty("paths").EnumerateArray().Single(p => p.GetProperty("path").GetString() == "/home/dev/src/out");
        Assert.Equal("--allow-write on the command line (given as '../out', resolved against the working directory '/home/dev/src/app')", written.GetProperty("reason").GetString());
        var origin = written.GetProperty("origin");
        Assert.Equal(("setting", "allow-write", "../out", "/home/dev/src/app"), (origin.GetProperty("kind").GetString(), origin.GetProperty("name").GetString(), origin.GetProperty("given").GetString(), origin.GetProperty("resolvedAgainst").GetString()));
        Assert.False(origin.TryGetProperty("file", out _));
        Assert.Equal("builtIn", root.GetProperty("paths")[0].GetProperty("origin").GetProperty("kind").GetString());

        var allow = root.GetProperty("network").GetProperty("allow").EnumerateArray().ToList();
        var host = allow.Single(h => h.GetProperty("host").GetString() == "pkgs.example.com");
        Assert.Equal(("setting", "allow-host"), (host.GetProperty("origin").GetProperty("kind").GetString(), host.GetProperty("origin").GetProperty("name").GetString()));
        var nuget = allow.Single(h => h.GetProperty("host").GetString() == "api.nuget.org").GetProperty("origin");
        Assert.Equal(("preset", "nuget"), (nuget.GetProperty("kind").GetString(), nuget.GetProperty("name").GetString()));
        var token = root.GetProperty("environment").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "GITHUB_TOKEN");
        Assert.Equal("env", token.GetProperty("origin").GetProperty("name").GetString());

        // Another host, its own words; the library's own are neutral and name no option.
        Assert.Contains("pkgs.example.com                  — SandboxAllowedHost", PolicyWriter.ToText(policy, TestWordings.Item), StringComparison.Ordinal);
        Assert.DoesNotContain("--allow-", PolicyWriter.ToText(policy), StringComparison.Ordinal);
        Assert.Contains("— the setting 'allow-host'", PolicyWriter.ToText(policy), StringComparison.Ordinal);
    }
}
