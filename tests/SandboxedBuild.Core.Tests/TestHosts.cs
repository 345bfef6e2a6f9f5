using SandboxedBuild.Policy;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests;

internal static class TestHosts
{
    public const string Home = "/home/dev";
    public const string Project = "/home/dev/src/app";

    public static HostFacts Create(FakeFileSystem? fs = null, string cwd = Project, Dictionary<string, string>? variables = null) =>
        new(Home, cwd, variables ?? DefaultVariables(), fs ?? FakeFileSystem.Debian()) { MemoryTotal = MemoryTotal };

    /// <summary>8 GiB: the default tmpfs bound is then 512 MiB.</summary>
    public const long MemoryTotal = 8L << 30;

    public static Dictionary<string, string> DefaultVariables() => new(StringComparer.Ordinal)
    {
        ["PATH"] = "/home/dev/.dotnet/tools:/usr/local/bin:/usr/bin:/bin",
        ["HOME"] = Home,
        ["LANG"] = "C.UTF-8",
        ["TERM"] = "xterm-256color",
        ["GITHUB_TOKEN"] = "ghp_bait",
        ["AWS_SECRET_ACCESS_KEY"] = "bait",
        ["SSH_AUTH_SOCK"] = "/run/user/1000/ssh-agent.sock",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["NUGET_API_KEY"] = "bait",
        ["EDITOR"] = "vim",
    };

    public static SandboxPolicy Policy(ExecOptions? options = null, HostFacts? host = null, List<Diagnostic>? warnings = null) =>
        ExecPolicyBuilder.Build(host ?? Create(), WordedAsTheCli(options ?? new ExecOptions()), warnings ?? []);

    /// <summary>The options as the CLI gives them: errors name its options (a test may give another wording).</summary>
    public static ExecOptions WordedAsTheCli(ExecOptions options) => options.Wording is null ? options with { Wording = TestWordings.Option } : options;
}
