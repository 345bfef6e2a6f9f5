using SandboxedBuild.Errors;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Core.Tests;

public sealed class ExecPolicyBuilderTests
{
    [Fact]
    public void Working_directory_is_writable_and_home_is_private()
    {
        var policy = TestHosts.Policy();
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(TestHosts.Project + "/obj/x.dll")!.Access);
        Assert.Equal(PathAccess.Scratch, policy.RuleFor(TestHosts.Home + "/.ssh/id_ed25519")!.Access);
        Assert.False(policy.IsVisible(TestHosts.Home + "/.ssh/id_ed25519"));
        Assert.False(policy.IsVisible(TestHosts.Home + "/src/other-project"));
    }

    [Fact]
    public void System_is_read_only_and_its_secrets_hidden()
    {
        var policy = TestHosts.Policy();
        Assert.Equal(PathAccess.ReadOnly, policy.RuleFor("/usr/share/dotnet/dotnet")!.Access);
        Assert.Equal(PathAccess.ReadOnly, policy.RuleFor("/etc/passwd")!.Access);
        Assert.Equal(PathAccess.Hidden, policy.RuleFor("/etc/shadow")!.Access);
        Assert.Equal(PathAccess.Hidden, policy.RuleFor("/etc/ssl/private/key.pem")!.Access);
        Assert.Equal(PathAccess.Scratch, policy.RuleFor("/tmp/MSBuild123")!.Access);
        Assert.Null(policy.RuleFor("/run/docker.sock"));
        Assert.Null(policy.RuleFor("/var/run/docker.sock"));
    }

    [Fact]
    public void Packages_folder_is_read_only()
    {
        var policy = TestHosts.Policy();
        Assert.Equal(PathAccess.ReadOnly, policy.RuleFor(TestHosts.Home + "/.nuget/packages/xunit/2.9.3/xunit.nuspec")!.Access);
        // Spelled as a plain restore records a default folder (obj/*.dgspec.json), so that a plain build after a sandboxed restore finds nothing to do.
        Assert.Equal(TestHosts.Home + "/.nuget/packages/", policy.GetEnvironmentValue("NUGET_PACKAGES"));
    }

    [Fact]
    public void Every_entry_states_a_reason()
    {
        var policy = TestHosts.Policy();
        Assert.All(policy.Paths, p => Assert.False(string.IsNullOrWhiteSpace(p.Reason())));
        Assert.All(policy.Environment, e => Assert.False(string.IsNullOrWhiteSpace(e.Reason())));
    }

    [Fact]
    public void Missing_git_directory_is_protected_as_a_whole()
    {
        var policy = TestHosts.Policy();
        var git = policy.RuleFor(TestHosts.Project + "/.git/hooks/pre-commit")!;
        Assert.Equal(PathAccess.Protected, git.Access);
        Assert.Equal(TestHosts.Project + "/.git", git.Path);
    }

    [Fact]
    public void Existing_git_directory_is_pinned_with_hooks_and_config_protected()
    {
        var host = TestHosts.Create(FakeFileSystem.Debian().Dir(TestHosts.Project + "/.git/objects").File(TestHosts.Project + "/.git/HEAD"));
        var policy = TestHosts.Policy(host: host);
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(TestHosts.Project + "/.git/objects/ab")!.Access);
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor(TestHosts.Project + "/.git")!.Access);
        Assert.Equal(PathAccess.Protected, policy.RuleFor(TestHosts.Project + "/.git/hooks/pre-commit")!.Access);
        Assert.Equal(PathAccess.Protected, policy.RuleFor(TestHosts.Project + "/.git/config")!.Access);
        Assert.Equal(PathKind.File, policy.RuleFor(TestHosts.Project + "/.git/config")!.Kind);
    }

    [Fact]
    public void An_empty_git_directory_is_no_repository_and_stays_protected_as_a_whole()
    {
        // What another run's placeholder looks like while its lease is being written or released,
        // or after a run was killed between making it and recording it.
        var host = TestHosts.Create(FakeFileSystem.Debian().Dir(TestHosts.Project + "/.git"));
        var policy = TestHosts.Policy(host: host);
        var git = policy.RuleFor(TestHosts.Project + "/.git/config")!;
        Assert.Equal(PathAccess.Protected, git.Access);
        Assert.Equal(TestHosts.Project + "/.git", git.Path);
        Assert.Equal(PathKind.Directory, git.Kind);
    }

    [Theory]
    [InlineData(".bashrc")]
    [InlineData(".envrc")]
    [InlineData(".vscode/tasks.json")]
    [InlineData(".idea/workspace.xml")]
    public void Files_that_run_outside_stay_read_only(string relative)
    {
        var policy = TestHosts.Policy();
        Assert.Equal(PathAccess.Protected, policy.RuleFor(TestHosts.Project + "/" + relative)!.Access);
    }

    [Fact]
    public void Protection_extends_to_allow_write_directories()
    {
        var host = TestHosts.Create(FakeFileSystem.Debian().Dir("/srv2/out"));
        var policy = TestHosts.Policy(new ExecOptions { AllowWrite = ["/srv2/out"] }, host);
        Assert.Equal(PathAccess.ReadWrite, policy.RuleFor("/srv2/out/file")!.Access);
        Assert.Equal(PathAccess.Protected, policy.RuleFor("/srv2/out/.git/config")!.Access);
    }

    [Fact]
    public void Explicit_allow_write_of_a_protected_path_wins_and_is_shown()
    {
        var host = TestHosts.Create(FakeFileSystem.Debian().Dir(TestHosts.Project + "/.vscode"));
        var policy = TestHosts.Policy(new ExecOptions { AllowWrite = [".vscode"] }, host);
        var rule = policy.RuleFor(TestHosts.Project + "/.vscode/tasks.json")!;
        Assert.Equal(PathAccess.ReadWrite, rule.Access);
        Assert.Contains("--allow-write", rule.Reason(TestWordings.Option), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/", "SBX1005")]
    [InlineData("/home/dev", "SBX1005")]
    [InlineData("/home", "SBX1005")]
    [InlineData("/usr", "SBX1005")]
    [InlineData("/nonexistent", "SBX1008")]
    public void Too_broad_or_missing_working_directory_is_refused(string cwd, string code)
    {
        var fs = FakeFileSystem.Debian();
        var ex = Assert.Throws<SandboxException>(() => TestHosts.Policy(host: TestHosts.Create(fs, cwd)));
        Assert.Equal(code, ex.Error.Code);
        Assert.Equal(ExitCodes.SandboxFailure, ex.ExitCode);
    }

    [Theory]
    [InlineData("/home/dev", "SBX3002")]
    [InlineData("/", "SBX3002")]
    [InlineData("/etc", "SBX3002")]
    [InlineData("/does/not/exist", "SBX3001")]
    public void Broad_or_missing_allow_write_is_refused(string path, string code)
    {
        var ex = Assert.Throws<SandboxException>(() => TestHosts.Policy(new ExecOptions { AllowWrite = [path] }));
        Assert.Equal(code, ex.Error.Code);
    }

    [Fact]
    public void A_missing_allow_write_directory_below_the_working_directory_is_created_and_protected()
    {
        var policy = TestHosts.Policy(new ExecOptions { AllowWrite = ["artifacts/tr"] });
        var rule = policy.Paths.Single(r => r.Path == TestHosts.Project + "/artifacts/tr");
        Assert.Equal(PathAccess.ReadWrite, rule.Access);
        Assert.True(rule.CreateIfMissing);
        Assert.Equal(PathAccess.Protected, policy.RuleFor(TestHosts.Project + "/artifacts/tr/.git/config")!.Access);
    }

    [Theory]
    [InlineData("/home/dev/src/app/out/tr", "SBX3015")] // below a link in the working directory
    [InlineData("/home/dev/src/app/dangling", "SBX3015")] // a link whose target is missing: never created through
    [InlineData("/home/dev/src/other/out", "SBX3001")] // outside the working directory
    public void A_missing_allow_write_directory_is_created_only_below_the_working_directory_and_never_through_a_link(string path, string code)
    {
        var fs = FakeFileSystem.Debian().Dir("/srv2").Link(TestHosts.Project + "/out", "/srv2").Link(TestHosts.Project + "/dangling", "/srv2/gone");
        var ex = Assert.Throws<SandboxException>(() => TestHosts.Policy(new ExecOptions { AllowWrite = [path] }, TestHosts.Create(fs)));
        Assert.Equal(code, ex.Error.Code);
    }

    [Fact]
    public void Allow_read_makes_a_home_path_visible_read_only()
    {
        var policy = TestHosts.Policy(new ExecOptions { AllowRead = ["/home/dev/.ssh"] });
        var rule = policy.RuleFor("/home/dev/.ssh/id_ed25519")!;
        Assert.Equal(PathAccess.ReadOnly, rule.Access);
        Assert.Equal("--allow-read on the command line", rule.Reason(TestWordings.Option));
    }

    [Fact]
    public void Secrets_in_the_environment_are_not_passed()
    {
        var policy = TestHosts.Policy();
        var names = policy.Environment.Select(e => e.Name).ToHashSet();
        Assert.DoesNotContain("GITHUB_TOKEN", names);
        Assert.DoesNotContain("AWS_SECRET_ACCESS_KEY", names);
        Assert.DoesNotContain("SSH_AUTH_SOCK", names);
        Assert.DoesNotContain("NUGET_API_KEY", names);
        Assert.DoesNotContain("EDITOR", names);
        Assert.Contains("PATH", names);
        Assert.Equal("/tmp", policy.GetEnvironmentValue("TMPDIR"));
        Assert.Equal(TestHosts.Home, policy.GetEnvironmentValue("HOME"));
    }

    [Fact]
    public void A_secret_named_explicitly_passes_with_a_coded_warning()
    {
        var warnings = new List<Diagnostic>();
        var policy = TestHosts.Policy(new ExecOptions { PassVariables = ["GITHUB_TOKEN"], SetVariables = ["MY_PASSWORD=x", "Configuration=Release"] }, warnings: warnings);
        Assert.Equal("ghp_bait", policy.GetEnvironmentValue("GITHUB_TOKEN"));
        Assert.Equal("Release", policy.GetEnvironmentValue("Configuration"));
        // As data: the catalog entry and its arguments, in order, for a host to log as it likes.
        Assert.Equal(
            [("SBX3004", Severity.Warning, "GITHUB_TOKEN", "--env"), ("SBX3004", Severity.Warning, "MY_PASSWORD", "--setenv")],
            warnings.Where(w => w.Error == Errors.Errors.SecretPassedExplicitly).Select(w => (w.Code, w.Severity, w.Arguments[0], w.Arguments[1])));
        Assert.StartsWith("warning SBX3004: passing 'GITHUB_TOKEN' into the sandbox because --env named it", warnings.First(w => w.Code == "SBX3004").ToString(), StringComparison.Ordinal);
        Assert.True(policy.Environment.Single(e => e.Name == "GITHUB_TOKEN").LooksSecret);
    }

    [Fact]
    public void CI_and_app_environment_markers_pass_and_the_variables_left_out_are_named_once_never_their_values()
    {
        var variables = TestHosts.DefaultVariables();
        variables["TF_BUILD"] = "True";
        variables["GITHUB_ACTIONS"] = "true";
        variables["ASPNETCORE_ENVIRONMENT"] = "Staging";
        variables["MY_SETTING"] = "value-not-to-print";
        variables["JAVA_HOME"] = "/usr/lib/jvm/default";
        variables["PWD"] = TestHosts.Project;
        variables["XDG_RUNTIME_DIR"] = "/run/user/1000";
        variables["GRADLE_PASSWORD"] = "bait";
        var warnings = new List<Diagnostic>();

        var policy = TestHosts.Policy(host: TestHosts.Create(variables: variables), warnings: warnings);

        Assert.Equal("True", policy.GetEnvironmentValue("TF_BUILD"));
        Assert.Equal("true", policy.GetEnvironmentValue("GITHUB_ACTIONS"));
        Assert.Equal("Staging", policy.GetEnvironmentValue("ASPNETCORE_ENVIRONMENT"));
        Assert.Null(policy.GetEnvironmentValue("MY_SETTING"));
        var notPassed = Assert.Single(warnings, w => w.Error == Errors.Errors.VariablesNotPassed);
        Assert.Equal(Severity.Warning, notPassed.Severity);

        // Names only; neither the session's (PWD, XDG_*, SSH_*, EDITOR) nor the secret-looking ones.
        Assert.Equal([2, "are", "JAVA_HOME, MY_SETTING"], notPassed.Arguments);
        Assert.Equal(
            "warning SBX3029: 2 of your environment variables are not passed into the sandbox: JAVA_HOME, MY_SETTING.",
            notPassed.ToString(TestWordings.Option.Setting).Split(Environment.NewLine)[0]);
        Assert.Contains("--env NAME", notPassed.ToString(TestWordings.Option.Setting), StringComparison.Ordinal);
        Assert.DoesNotContain("value-not-to-print", notPassed.ToString(), StringComparison.Ordinal);

        // Passed by name: no longer listed; nothing left out: nothing said.
        warnings.Clear();
        _ = TestHosts.Policy(new ExecOptions { PassVariables = ["MY_SETTING"] }, TestHosts.Create(variables: variables), warnings);
        Assert.Equal([1, "is", "JAVA_HOME"], Assert.Single(warnings, w => w.Error == Errors.Errors.VariablesNotPassed).Arguments);
        warnings.Clear();
        _ = TestHosts.Policy(new ExecOptions { PassVariables = ["MY_SETTING", "JAVA_HOME"] }, TestHosts.Create(variables: variables), warnings);
        Assert.DoesNotContain(warnings, w => w.Error == Errors.Errors.VariablesNotPassed);
    }

    [Theory]
    [InlineData("/data/pkgs", "/data/pkgs")]
    [InlineData("/data/pkgs/", "/data/pkgs/")]
    [InlineData("/data//pkgs", "/data//pkgs")]
    public void The_callers_own_NUGET_PACKAGES_is_passed_as_spelled(string given, string passed)
    {
        var variables = TestHosts.DefaultVariables();
        variables["NUGET_PACKAGES"] = given;
        var fs = FakeFileSystem.Debian().Dir("/data/pkgs");
        Assert.Equal(passed, TestHosts.Policy(host: TestHosts.Create(fs, variables: variables)).GetEnvironmentValue("NUGET_PACKAGES"));
    }

    [Fact]
    public void Passing_an_unset_variable_warns()
    {
        var warnings = new List<Diagnostic>();
        _ = TestHosts.Policy(new ExecOptions { PassVariables = ["NOT_SET_ANYWHERE"] }, warnings: warnings);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3005", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("NOEQUALS", "SBX1007")]
    [InlineData("1BAD=x", "SBX3003")]
    public void Malformed_setenv_is_refused(string assignment, string code)
    {
        var ex = Assert.Throws<SandboxException>(() => TestHosts.Policy(new ExecOptions { SetVariables = [assignment] }));
        Assert.Equal(code, ex.Error.Code);
    }

    [Theory]
    [InlineData("/tmp")]
    [InlineData("/dev/shm")]
    [InlineData("/usr/local")]
    [InlineData("/usr/local/bin")]
    [InlineData("/etc/cron.d")]
    [InlineData("/opt")]
    public void Shared_temp_and_anything_in_system_trees_cannot_be_made_writable(string path)
    {
        var fs = FakeFileSystem.Debian().Dir(path);
        var ex = Assert.Throws<SandboxException>(() => TestHosts.Policy(new ExecOptions { AllowWrite = [path] }, TestHosts.Create(fs)));
        Assert.Equal("SBX3002", ex.Error.Code);
        var asCwd = Assert.Throws<SandboxException>(() => TestHosts.Policy(host: TestHosts.Create(fs, path)));
        Assert.Equal("SBX1005", asCwd.Error.Code);
    }

    [Fact]
    public void A_project_below_tmp_or_opt_is_fine()
    {
        var fs = FakeFileSystem.Debian().Dir("/tmp/build-1", "/opt/team/app");
        Assert.Equal(PathAccess.ReadWrite, TestHosts.Policy(host: TestHosts.Create(fs, "/tmp/build-1")).RuleFor("/tmp/build-1/x")!.Access);
        Assert.Equal(PathAccess.ReadWrite, TestHosts.Policy(host: TestHosts.Create(fs, "/opt/team/app")).RuleFor("/opt/team/app/x")!.Access);
    }

    [Fact]
    public void Reading_the_whole_host_is_refused_and_reading_the_home_warns()
    {
        var ex = Assert.Throws<SandboxException>(() => TestHosts.Policy(new ExecOptions { AllowRead = ["/"] }));
        Assert.Equal("SBX3002", ex.Error.Code);

        var warnings = new List<Diagnostic>();
        _ = TestHosts.Policy(new ExecOptions { AllowRead = [TestHosts.Home] }, warnings: warnings);
        Assert.Contains(warnings, w => w.ToString().Contains("SBX3006", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(".git/commondir")]
    [InlineData(".git/config.worktree")]
    [InlineData(".git/worktrees/feature/gitdir")]
    [InlineData(".git/modules/sub/hooks/pre-commit")]
    public void Git_files_that_redirect_config_or_hooks_are_protected(string relative)
    {
        var host = TestHosts.Create(FakeFileSystem.Debian().Dir(TestHosts.Project + "/.git/objects").File(TestHosts.Project + "/.git/HEAD"));
        Assert.Equal(PathAccess.Protected, TestHosts.Policy(host: host).RuleFor(TestHosts.Project + "/" + relative)!.Access);
    }

    [Fact]
    public void Errors_and_warnings_about_a_setting_name_it_in_the_hosts_words()
    {
        // The CLI's words by default here (TestHosts), a task's, and the library's own neutral ones.
        var missing = new ExecOptions { AllowWrite = ["/does/not/exist"] };
        Assert.StartsWith("--allow-write names '/does/not/exist'", Assert.Throws<SandboxException>(() => TestHosts.Policy(missing)).Diagnostic.Message, StringComparison.Ordinal);
        Assert.StartsWith("SandboxWritablePath names '/does/not/exist'", Assert.Throws<SandboxException>(() => TestHosts.Policy(missing with { Wording = TestWordings.Item })).Diagnostic.Message, StringComparison.Ordinal);
        var neutral = Assert.Throws<SandboxException>(() => ExecPolicyBuilder.Build(TestHosts.Create(), missing, new List<Diagnostic>()));
        Assert.StartsWith("the setting 'allow-write' names '/does/not/exist'", neutral.Diagnostic.Message, StringComparison.Ordinal);
        Assert.Equal("the setting 'allow-write'", neutral.Diagnostic.Arguments[0]);

        var warnings = new List<Diagnostic>();
        _ = ExecPolicyBuilder.Build(TestHosts.Create(), new ExecOptions { PassVariables = ["NUGET_API_KEY"], Wording = TestWordings.Item }, warnings);
        Assert.Contains(warnings, w => w.Code == "SBX3004" && w.Message.Contains("because Sandbox env named it", StringComparison.Ordinal));
    }
}
