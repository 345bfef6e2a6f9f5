using SandboxedBuild.Errors;
using SandboxedBuild.Policy;
using SandboxedBuild.Network;

namespace SandboxedBuild.Core.Tests;

/// <summary>The one place where command-line values are checked before anything runs.</summary>
public sealed class InputCheckTests
{
    public static TheoryData<ExecOptions, string, string> BadOptions() => new()
    {
        { new ExecOptions { AllowWrite = [""] }, "SBX1014", "--allow-write" },
        { new ExecOptions { AllowRead = [" "] }, "SBX1014", "--allow-read" },
        { new ExecOptions { AllowRead = ["\t"] }, "SBX1014", "--allow-read" },
        { new ExecOptions { AllowHosts = [""] }, "SBX1014", "--allow-host" },
        { new ExecOptions { DenyHosts = ["  "] }, "SBX1014", "--deny-host" },
        { new ExecOptions { SetVariables = [""] }, "SBX1014", "--setenv" },
        { new ExecOptions { PassVariables = [" "] }, "SBX1014", "--env" },
        { new ExecOptions { Presets = [""] }, "SBX1014", "--preset" },
        { new ExecOptions { SetVariables = ["FOO"] }, "SBX1007", "--setenv" },
        { new ExecOptions { SetVariables = ["=x"] }, "SBX3003", "''" },
        { new ExecOptions { SetVariables = ["1A=x"] }, "SBX3003", "'1A'" },
        { new ExecOptions { PassVariables = ["A-B"] }, "SBX3003", "'A-B'" },
        { new ExecOptions { AllowRead = ["data\nwrite /"] }, "SBX1015", "'data\\x0Awrite /'" },
        { new ExecOptions { AllowWrite = ["out\x1b[2J"] }, "SBX1015", "U+001B, an escape" },
        { new ExecOptions { AllowWrite = ["a\u0085b"] }, "SBX1015", "U+0085" },
        { new ExecOptions { AllowRead = ["caf\uFFFD"] }, "SBX1017", "--allow-read" },
        { new ExecOptions { AllowRead = ["~/data"] }, "SBX1016", "'~/data'" },
        { new ExecOptions { AllowWrite = ["~root/x"] }, "SBX1016", "'~root/x'" },
        { new ExecOptions { AllowWrite = ["~"] }, "SBX1016", "./~" },
        { new ExecOptions { AllowHosts = ["exa mple.com"] }, "SBX6001", "--allow-host" },
        { new ExecOptions { AllowHosts = ["api.nuget.org\n"] }, "SBX6001", "'api.nuget.org\\x0A'" },
        { new ExecOptions { DenyHosts = [" evil.example"] }, "SBX6001", "--deny-host ' evil.example'" },
        { new ExecOptions { AllowHosts = ["pkgs.example.com\t"] }, "SBX6001", "\\x09" },
        { new ExecOptions { Presets = ["nugett"] }, "SBX6002", "nugett" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void A_bad_value_is_refused_with_its_code_naming_the_option_and_a_hint(ExecOptions options, string code, string named)
    {
        var ex = Assert.Throws<SandboxException>(() => InputCheck.Check(TestHosts.WordedAsTheCli(options)));
        Assert.Equal(code, ex.Error.Code);
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
        Assert.Contains("hint: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message.Split("\n  hint: ")[0]);
        Assert.DoesNotContain('\x1b', ex.Message);
    }

    [Theory]
    [InlineData("a b")]
    [InlineData("it's \"quoted\"")]
    [InlineData("./~")]
    [InlineData("dir/~user")]
    [InlineData("../sibling")]
    [InlineData("/abs/olute path/")]
    [InlineData("ünïcödé")]
    public void Printable_paths_pass_as_they_are(string path)
    {
        InputCheck.Check(new ExecOptions { AllowRead = [path], AllowWrite = [path] });
    }

    [Fact]
    public void Legitimate_values_of_every_option_pass()
    {
        InputCheck.Check(new ExecOptions
        {
            AllowRead = ["/data"], AllowWrite = ["out"], PassVariables = ["CI"], SetVariables = ["A=", "B=x=y", "C= spaced "],
            AllowHosts = ["pkgs.example.com:8443", "*.example.org"], DenyHosts = ["evil.example"], Presets = ["npm"],
        });
    }

    [Theory]
    [InlineData("", "SBX1014")]
    [InlineData(" ", "SBX1014")]
    [InlineData("a\nb", "SBX1015")]
    [InlineData("caf\uFFFD", "SBX1017")]
    public void A_command_that_names_nothing_or_cannot_be_passed_on_exactly_is_refused(string command, string code)
    {
        var ex = Assert.Throws<SandboxException>(() => InputCheck.RequireCommand(command));
        Assert.Equal(code, ex.Error.Code);
        Assert.Contains("the command", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_argument_that_was_not_UTF8_is_refused_and_named_by_its_position()
    {
        var ex = Assert.Throws<SandboxException>(() => InputCheck.RequireArguments(["-n", "caf\uFFFD"], "the command"));
        Assert.Equal("SBX1019", ex.Error.Code);
        Assert.Contains("argument 2 for the command, 'caf\uFFFD'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Arguments_with_spaces_quotes_newlines_and_nothing_at_all_are_passed_as_they_are() =>
        InputCheck.RequireArguments(["", " ", "a b", "it's \"quoted\"", "two\nlines", "caf\u00e9"], "the command");

    [Theory]
    [InlineData("dotnet")]
    [InlineData("./build script.sh")]
    [InlineData("/usr/bin/env")]
    public void A_command_name_or_path_passes(string command) => InputCheck.RequireCommand(command);

    [Fact]
    public void A_missing_option_passes_and_an_empty_one_does_not()
    {
        InputCheck.RequirePath("--workdir", null);
        InputCheck.RequireValue("--configuration", null, "a configuration");
        Assert.Equal("SBX1014", Assert.Throws<SandboxException>(() => InputCheck.RequirePath("--workdir", "")).Error.Code);
        Assert.Equal("SBX1014", Assert.Throws<SandboxException>(() => InputCheck.RequireValue("--configuration", " ", "a configuration")).Error.Code);
    }

    [Fact]
    public void An_empty_allow_write_is_not_turned_into_the_working_directory()
    {
        // What main did: Path.GetFullPath("", cwd) is cwd, so '--allow-write ""' passed silently.
        Assert.Equal(TestHosts.Project, PathUtil.Normalize("", TestHosts.Project));
        Assert.Equal("SBX1014", Assert.Throws<SandboxException>(() => InputCheck.Check(new ExecOptions { AllowWrite = [""] })).Error.Code);
    }

    [Fact]
    public void A_working_directory_with_a_newline_is_refused_escaped()
    {
        var fs = FakeFileSystem.Debian().Dir("/home/dev/src/a\nb");
        var ex = Assert.Throws<SandboxException>(() => TestHosts.Policy(host: TestHosts.Create(fs, "/home/dev/src/a\nb")));
        Assert.Equal("SBX1015", ex.Error.Code);
        Assert.Contains("'/home/dev/src/a\\x0Ab'", ex.Message, StringComparison.Ordinal);

        var legit = FakeFileSystem.Debian().Dir("/home/dev/src/a b");
        Assert.Equal("/home/dev/src/a b", TestHosts.Policy(host: TestHosts.Create(legit, "/home/dev/src/a b")).WorkingDirectory);
    }

    [Fact]
    public void A_relative_path_says_what_was_typed_and_what_it_was_resolved_against()
    {
        var fs = FakeFileSystem.Debian().Dir("/home/dev/src/out");
        var policy = TestHosts.Policy(new ExecOptions { AllowRead = ["/home/dev/src/out/"] }, TestHosts.Create(fs));
        var rule = policy.Paths.Single(r => r.Path == "/home/dev/src/out");
        Assert.Equal("--allow-read on the command line (given as '/home/dev/src/out/', resolved against the working directory '/home/dev/src/app')", rule.Reason(TestWordings.Option));
        Assert.Equal(new Origin(OriginKind.Setting, Origin.Settings.AllowRead, Given: "/home/dev/src/out/", ResolvedAgainst: "/home/dev/src/app"), rule.Origin);
        Assert.Equal("SandboxReadablePath (given as '/home/dev/src/out/', resolved against the working directory '/home/dev/src/app')", rule.Reason(TestWordings.Item));
        Assert.DoesNotContain("--", rule.Reason(), StringComparison.Ordinal);
        var written = TestHosts.Policy(new ExecOptions { AllowWrite = ["../out"] }, TestHosts.Create(fs)).Paths.Single(r => r.Path == "/home/dev/src/out");
        Assert.Equal("--allow-write on the command line (given as '../out', resolved against the working directory '/home/dev/src/app')", written.Reason(TestWordings.Option));
        var absolute = TestHosts.Policy(new ExecOptions { AllowWrite = ["/home/dev/src/out"] }, TestHosts.Create(fs)).Paths.Single(r => r.Path == "/home/dev/src/out");
        Assert.Equal("--allow-write on the command line", absolute.Reason(TestWordings.Option));
        Assert.Equal(Origin.Setting(Origin.Settings.AllowWrite), absolute.Origin);
    }

    [Fact]
    public void A_project_through_a_link_in_a_writable_directory_is_refused_and_the_real_one_is_not()
    {
        var fs = FakeFileSystem.Debian().Dir("/home/dev/src/app").File("/home/dev/src/app/App.csproj").Link("/home/dev/src/current", "app");
        var host = TestHosts.Create(fs);
        var ex = Assert.Throws<SandboxException>(() => InputCheck.RequireProjectWithoutLink(host, "/home/dev/src/current/App.csproj", "build"));
        Assert.Equal("SBX1018", ex.Error.Code);
        Assert.Contains("'/home/dev/src/app/App.csproj'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("dotnet sandbox build '/home/dev/src/app/App.csproj'", ex.Message, StringComparison.Ordinal);

        InputCheck.RequireProjectWithoutLink(host, "/home/dev/src/app/App.csproj", "build");
    }

    [Fact]
    public void A_project_through_a_link_no_sandbox_can_write_is_followed()
    {
        // /home/dev is the caller's home: always a private tmpfs inside, so its links are the user's.
        var fs = FakeFileSystem.Debian().Dir("/home/dev/src/app").File("/home/dev/src/app/App.csproj").Link("/home/dev/app", "src/app");
        InputCheck.RequireProjectWithoutLink(TestHosts.Create(fs), "/home/dev/app/App.csproj", "build");
    }

    [Theory]
    [InlineData(OSKind.Windows, "SBX1009", "Windows")]
    [InlineData(OSKind.MacOS, "SBX5001", "macOS")]
    [InlineData(OSKind.Other, "SBX1009", "FreeBSD 14.1")]
    public void An_unsupported_operating_system_is_refused_with_its_code(OSKind os, string code, string named)
    {
        var ex = Assert.Throws<SandboxException>(() => SupportedPlatform.Require(os, "FreeBSD 14.1"));
        Assert.Equal(code, ex.Error.Code);
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.SandboxFailure, ex.ExitCode);
    }

    [Fact]
    public void Linux_is_supported_and_is_what_these_tests_run_on()
    {
        SupportedPlatform.Require(OSKind.Linux, "Linux");
        SupportedPlatform.Require();
    }

    [Fact]
    public void An_unknown_system_name_is_escaped()
    {
        var ex = Assert.Throws<SandboxException>(() => SupportedPlatform.Require(OSKind.Other, "Evil\x1b]0;title\x07"));
        Assert.DoesNotContain('\x1b', ex.Message);
    }

    [Fact]
    public void A_host_other_than_the_cli_hears_its_own_names_of_the_settings()
    {
        var item = Assert.Throws<SandboxException>(() => InputCheck.Check(new ExecOptions { AllowRead = [" "], Wording = TestWordings.Item }));
        Assert.Contains("SandboxReadablePath", item.Message, StringComparison.Ordinal);
        var neutral = Assert.Throws<SandboxException>(() => InputCheck.Check(new ExecOptions { DenyHosts = [" evil.example"] }));
        Assert.Contains("the setting 'deny-host'", neutral.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("--", neutral.Message, StringComparison.Ordinal);
    }
}
