using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>Failures of the sandbox itself: reserved exit statuses and coded messages, never a stack trace.</summary>
public sealed class SandboxFailureTests
{
    [Fact]
    public void Missing_bubblewrap_is_125_with_SBX4001()
    {
        using var ws = new Workspace(Identity.Current);
        var r = Cli.Run(Identity.Current, ws, ["exec", "--", "true"], extraEnv: new Dictionary<string, string> { ["PATH"] = "/nonexistent" });
        AssertCoded(r, 125, "SBX4001");
    }

    [Theory]
    [InlineData("0.8.0", "SBX4003")]
    [InlineData("0.6.1", "SBX4002")]
    public void A_sandbox_that_cannot_be_set_up_is_125_with_the_reason(string version, string code)
    {
        // A stand-in for bubblewrap on a machine where user namespaces are off (or bubblewrap is
        // old): it reports its version and refuses to create namespaces, as the real one does there.
        using var ws = new Workspace(Identity.Current);
        var fake = Path.Combine(ws.Root, "fakebin");
        Directory.CreateDirectory(fake);
        File.WriteAllText(Path.Combine(fake, "bwrap"), $"#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'bubblewrap {version}'; exit 0; fi\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n");
        File.SetUnixFileMode(Path.Combine(fake, "bwrap"), (UnixFileMode)Convert.ToInt32("755", 8));
        var r = Cli.Run(Identity.Current, ws, ["exec", "--", "true"], extraEnv: new Dictionary<string, string> { ["PATH"] = fake + ":/usr/bin:/bin" });
        AssertCoded(r, 125, code);
    }

    [Theory]
    [InlineData(new[] { "exec", "--", "no-such-command-xyz" }, 127, "SBX1003")]
    [InlineData(new[] { "exec", "--", "./Program.cs" }, 126, "SBX1004")]
    [InlineData(new[] { "exec" }, 125, "SBX1002")]
    [InlineData(new[] { "exec", "--frobnicate", "--", "true" }, 125, "SBX1001")]
    [InlineData(new[] { "exec", "--setenv", "1BAD=x", "--", "true" }, 125, "SBX3003")]
    [InlineData(new[] { "exec", "--setenv", "NOVALUE", "--", "true" }, 125, "SBX1007")]
    [InlineData(new[] { "exec", "--print-policy", "--format", "xml" }, 125, "SBX1007")]
    [InlineData(new[] { "exec", "--network", "wide", "--", "true" }, 125, "SBX1007")]
    [InlineData(new[] { "exec", "--max-processes", "many", "--", "true" }, 125, "SBX1013")]
    [InlineData(new[] { "policy", "--step", "deploy" }, 125, "SBX1007")]
    [InlineData(new[] { "exec", "--allow-write", "/tmp", "--", "true" }, 125, "SBX3002")]
    [InlineData(new[] { "exec", "--allow-write", "/", "--", "true" }, 125, "SBX3002")]
    [InlineData(new[] { "exec", "--allow-read", "/does/not/exist", "--", "true" }, 125, "SBX3001")]
    [InlineData(new[] { "exec", "--workdir", "/", "--", "true" }, 125, "SBX1005")]
    [InlineData(new[] { "frobnicate" }, 125, "SBX1001")]
    [InlineData(new[] { "exec", "--no-network", "--allow-host", "api.nuget.org", "--", "true" }, 125, "SBX6015")]
    [InlineData(new[] { "exec", "--network", "none", "--preset", "npm", "--", "true" }, 125, "SBX6015")]
    [InlineData(new[] { "exec", "--no-network", "--deny-host", "http://x", "--", "true" }, 125, "SBX6001")]
    public void Bad_usage_and_missing_commands_use_reserved_codes(string[] args, int exit, string code)
    {
        using var ws = new Workspace(Identity.Current);
        AssertCoded(Cli.Run(Identity.Current, ws, args), exit, code);
    }

    [Fact]
    public void Every_bad_value_the_parser_checks_is_reported_at_once_with_its_own_code_and_nothing_runs()
    {
        using var ws = new Workspace(Identity.Current);
        var r = Cli.Run(Identity.Current, ws, ["exec", "--tmpfs-size", "12Q", "--max-processes", "0", "--network", "wide", "--", "/bin/sh", "-c", "echo ran > ran.txt"]);

        AssertCoded(r, 125, "SBX1013");
        Assert.Contains("dotnet-sandbox: SBX1013: invalid value '12Q' for --tmpfs-size.", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("dotnet-sandbox: SBX1013: invalid value '0' for --max-processes.", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("dotnet-sandbox: SBX1007: invalid value 'wide' for --network: expected filtered, none or audit.", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("SBX1001", r.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(ws.Project, "ran.txt")));

        // The same values well formed run, in any case for the named ones.
        var legit = Cli.Run(Identity.Current, ws, ["exec", "--tmpfs-size", "64M", "--max-processes", "512", "--network", "NONE", "--", "/bin/sh", "-c", "echo ran > ran.txt"]);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.Equal("ran\n", File.ReadAllText(Path.Combine(ws.Project, "ran.txt")));
    }

    [Theory]
    [InlineData("deep")]
    [InlineData("/proc")]
    [InlineData("/sys")]
    public void A_proxy_that_cannot_start_is_125_with_SBX6003_and_nothing_runs(string runtimeDirectory)
    {
        using var ws = new Workspace(Identity.Current);
        if (runtimeDirectory == "deep")
        {
            // Exists and is writable, but a socket path below it is longer than a unix socket allows.
            runtimeDirectory = Path.Combine(ws.Root, new string('d', 60), new string('e', 60));
            Directory.CreateDirectory(runtimeDirectory);
        }

        var r = Cli.Sh(Identity.Current, ws, "echo RAN", null, new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = runtimeDirectory });
        AssertCoded(r, 125, "SBX6003");
        Assert.Equal(string.Empty, r.StandardOutput);
    }

    [Fact]
    public void The_top_level_help_lists_each_command_in_one_line_and_a_mistyped_command_is_one_error_with_a_suggestion()
    {
        using var ws = new Workspace(Identity.Current);
        var help = Cli.Run(Identity.Current, ws, ["--help"]);
        Assert.Equal(0, help.ExitCode);
        var commands = help.StandardOutput.Split("Commands:")[1].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["exec", "restore", "build", "test", "run", "policy", "trust", "doctor"], commands.Select(l => l.Trim().Split(' ')[0]));
        Assert.True(help.StandardOutput.Split('\n').Length < 45, help.StandardOutput);

        // The command's own help still has all of it.
        Assert.Contains("Examples:", Cli.Run(Identity.Current, ws, ["exec", "--help"]).StandardOutput, StringComparison.Ordinal);

        var typo = Cli.Run(Identity.Current, ws, ["tset", "App.sln"]);
        Assert.Equal(125, typo.ExitCode);
        Assert.Equal("dotnet-sandbox: SBX1001: unknown command 'tset'; did you mean 'test'?\n  hint: run 'dotnet sandbox --help' for the options and examples.\n", typo.StandardError);
        var unknown = Cli.Run(Identity.Current, ws, ["frobnicate"]);
        Assert.Equal("dotnet-sandbox: SBX1001: unknown command 'frobnicate'.\n  hint: run 'dotnet sandbox --help' for the options and examples.\n", unknown.StandardError);
        Assert.Contains("did you mean 'build'", Cli.Run(Identity.Current, ws, ["biuld"]).StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_teaches_by_example()
    {
        using var ws = new Workspace(Identity.Current);
        var r = Cli.Run(Identity.Current, ws, ["exec", "--help"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Examples:", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("dotnet sandbox exec -- dotnet build", r.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_describes_run_and_var_as_they_are()
    {
        using var ws = new Workspace(Identity.Current);
        var help = Cli.Run(Identity.Current, ws, ["exec", "--help"]).StandardOutput;
        Assert.Contains("/run and the\n  rest of /var are not there at all", help.Replace("\r", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("/run are replaced", help, StringComparison.Ordinal);

        // What the help says, for real: no /run, and nothing in /var but the private tmp; with
        // network, /run holds only the bridge's directory.
        var none = Cli.Sh(Identity.Current, ws, "ls -d /run 2>/dev/null; ls -A /var; echo end", null, null, "--no-network");
        Assert.Equal("tmp\nend\n", none.StandardOutput);
        var networked = Cli.Sh(Identity.Current, ws, "ls -A /run; ls -A /var; echo end");
        Assert.Equal("dotnet-sandbox\ntmp\nend\n", networked.StandardOutput);

        // The mount check's marker is gone before the command starts.
        var tmp = Cli.Sh(Identity.Current, ws, "ls -A /tmp; echo end", null, null, "--no-network");
        Assert.Contains("end", tmp.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("dotnet-sandbox-mounted", tmp.StandardOutput, StringComparison.Ordinal);
    }

    private static void AssertCoded(CliResult r, int exit, string code)
    {
        Assert.True(r.ExitCode == exit, r.ToString());
        // Said as itself, not wrapped in another code ("SBX1001: SBX1007: …").
        Assert.Contains("dotnet-sandbox: " + code + ":", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("hint:", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
    }
}
