using SandboxedBuild.Errors;
using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

public sealed class ProjectFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sbx-projectfiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Touch(string relative, string content = "<Project />")
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void The_only_project_in_a_directory_is_picked()
    {
        var proj = Touch("App.csproj");
        Touch("README.md", "x");
        Assert.Equal(proj, ProjectFiles.Locate(null, _dir, "test"));
        Assert.Equal(proj, ProjectFiles.Locate(".", _dir, "test"));
        Assert.Equal(proj, ProjectFiles.Locate("App.csproj", _dir, "test"));
    }

    [Fact]
    public void A_solution_wins_over_projects_beside_it()
    {
        Touch("App.csproj");
        var sln = Touch("App.slnx", "<Solution />");
        Assert.Equal(sln, ProjectFiles.Locate(null, _dir, "test"));
    }

    [Fact]
    public void Two_candidates_or_none_are_coded_errors_that_name_the_files()
    {
        Touch("A.csproj");
        Touch("B.csproj");
        var many = Assert.Throws<SandboxException>(() => ProjectFiles.Locate(null, _dir, "test"));
        Assert.Equal("SBX1011", many.Error.Code);
        Assert.Contains("A.csproj, B.csproj", many.Message, StringComparison.Ordinal);
        Assert.Contains("dotnet sandbox test A.csproj", many.Message, StringComparison.Ordinal);

        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        Assert.Equal("SBX1010", Assert.Throws<SandboxException>(() => ProjectFiles.Locate(null, empty, "build")).Error.Code);
        Assert.Equal("SBX1012", Assert.Throws<SandboxException>(() => ProjectFiles.Locate("nope.csproj", _dir, "build")).Error.Code);
        Assert.Equal("SBX1012", Assert.Throws<SandboxException>(() => ProjectFiles.Locate(Touch("notes.txt", "x"), _dir, "build")).Error.Code);
    }

    [Fact]
    public void Projects_of_an_sln_are_its_project_entries_not_its_folders()
    {
        var app = Touch("src/App/App.csproj");
        var tests = Touch("tests/App.Tests/App.Tests.fsproj");
        var sln = Touch("App.sln", """
            Microsoft Visual Studio Solution File, Format Version 12.00
            Project("{2150E333-8FDC-42A3-9474-1A3956D46DE8}") = "src", "src", "{11111111-1111-1111-1111-111111111111}"
            EndProject
            Project("{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}") = "App", "src\App\App.csproj", "{22222222-2222-2222-2222-222222222222}"
            EndProject
            Project("{F2A71F9B-5D33-465A-A702-920D77279786}") = "App.Tests", "tests\App.Tests\App.Tests.fsproj", "{33333333-3333-3333-3333-333333333333}"
            EndProject
            Project("{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}") = "Gone", "src\Gone\Gone.csproj", "{44444444-4444-4444-4444-444444444444}"
            EndProject
            """.Replace("\n", "\r\n", StringComparison.Ordinal));
        Assert.Equal([app, tests], ProjectFiles.ProjectsOfSolution(sln));
    }

    [Fact]
    public void A_solution_as_dotnet_new_and_dotnet_sln_add_write_it_lists_its_project()
    {
        // Written by 'dotnet new sln --format sln' and 'dotnet sln add src/App/App.csproj' (SDK 10), BOM and all.
        var app = Touch("src/App/App.csproj");
        var sln = Touch("App.sln", "\uFEFF" + """

            Microsoft Visual Studio Solution File, Format Version 12.00
            # Visual Studio Version 17
            VisualStudioVersion = 17.0.31903.59
            MinimumVisualStudioVersion = 10.0.40219.1
            Project("{2150E333-8FDC-42A3-9474-1A3956D46DE8}") = "src", "src", "{827E0CD3-B72D-47B6-A68D-7590B98EB39B}"
            EndProject
            Project("{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}") = "App", "src\App\App.csproj", "{C7FAA907-353F-4107-B4E9-7B4B15645E0F}"
            EndProject
            Global
            	GlobalSection(SolutionConfigurationPlatforms) = preSolution
            		Debug|Any CPU = Debug|Any CPU
            		Release|Any CPU = Release|Any CPU
            	EndGlobalSection
            	GlobalSection(ProjectConfigurationPlatforms) = postSolution
            		{C7FAA907-353F-4107-B4E9-7B4B15645E0F}.Debug|Any CPU.ActiveCfg = Debug|Any CPU
            		{C7FAA907-353F-4107-B4E9-7B4B15645E0F}.Debug|Any CPU.Build.0 = Debug|Any CPU
            		{C7FAA907-353F-4107-B4E9-7B4B15645E0F}.Release|Any CPU.ActiveCfg = Release|Any CPU
            		{C7FAA907-353F-4107-B4E9-7B4B15645E0F}.Release|Any CPU.Build.0 = Release|Any CPU
            	EndGlobalSection
            	GlobalSection(NestedProjects) = preSolution
            		{C7FAA907-353F-4107-B4E9-7B4B15645E0F} = {827E0CD3-B72D-47B6-A68D-7590B98EB39B}
            	EndGlobalSection
            EndGlobal
            """.Replace("\n", "\r\n", StringComparison.Ordinal));
        Assert.Equal([app], ProjectFiles.ProjectsOfSolution(sln));
    }

    [Theory]
    [InlineData("Project(\"{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}\") = \"App\", \"App\\App.csproj\", \"{C7FAA907-353F-4107-B4E9-7B4B15645E0F}\"\nEndProject\n")]
    [InlineData("Microsoft Visual Studio Solution File, Format Version 99.00\n")]
    [InlineData("Microsoft Visual Studio Solution File, Format Version 12.00\n"
        + "Project(\"{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}\") = \"App\", \"App\\App.csproj\", \"{C7FAA907-353F-4107-B4E9-7B4B15645E0F}\"\nEndProject\n"
        + "Project(\"{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}\") = \"App\", \"App\\App.csproj\", \"{C7FAA907-353F-4107-B4E9-7B4B15645E0F}\"\nEndProject\n")]
    public void A_solution_the_sdk_cannot_read_is_SBX3028_not_a_guess(string text)
    {
        // Without its header, of a version the SDK does not know, or with a project twice: 'dotnet sln list' refuses each too.
        Touch("App/App.csproj");
        var sln = Touch("App.sln", text);
        var e = Assert.Throws<SandboxException>(() => ProjectFiles.ProjectsOfSolution(sln));
        Assert.Same(Errors.Errors.SolutionInvalid, e.Error);
        Assert.Contains(sln, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_slnx_the_sdk_cannot_read_is_SBX3028_and_one_with_a_dtd_stays_SBX3019()
    {
        Touch("App/App.csproj");
        var slnx = Touch("App.slnx", "<Solution><Project Path=\"App/App.csproj\" /><Project Path=\"App/App.csproj\" /></Solution>");
        Assert.Same(Errors.Errors.SolutionInvalid, Assert.Throws<SandboxException>(() => ProjectFiles.ProjectsOfSolution(slnx)).Error);

        // The SDK's parser would read a DTD: the plain-XML check before it refuses one.
        File.WriteAllText(slnx, "<!DOCTYPE Solution [<!ENTITY p \"App/App.csproj\">]><Solution><Project Path=\"&p;\" /></Solution>");
        Assert.Same(Errors.Errors.XmlFileInvalid, Assert.Throws<SandboxException>(() => ProjectFiles.ProjectsOfSolution(slnx)).Error);
    }

    [Fact]
    public void Projects_of_an_slnx_are_read_from_its_xml()
    {
        var app = Touch("src/App/App.csproj");
        var lib = Touch("src/Lib/Lib.csproj");
        var slnx = Touch("App.slnx", """
            <Solution>
              <Folder Name="/src/">
                <Project Path="src/App/App.csproj" />
                <Project Path="src\Lib\Lib.csproj" />
              </Folder>
            </Solution>
            """);
        Assert.Equal([app, lib], ProjectFiles.ProjectsOfSolution(slnx));
    }

    [Fact]
    public void The_repository_root_is_the_nearest_directory_with_git_else_the_projects_own()
    {
        var proj = Touch("repo/src/App/App.csproj");
        Assert.Equal(Path.GetDirectoryName(proj), ProjectFiles.RepositoryRoot(proj));
        Directory.CreateDirectory(Path.Combine(_dir, "repo", ".git"));

        // An empty .git, as a concurrent run's placeholder is, marks no repository; one with a HEAD does.
        Assert.Equal(Path.GetDirectoryName(proj), ProjectFiles.RepositoryRoot(proj));
        File.WriteAllText(Path.Combine(_dir, "repo", ".git", "HEAD"), "ref: refs/heads/main\n");
        Assert.Equal(Path.Combine(_dir, "repo"), ProjectFiles.RepositoryRoot(proj));
    }

    [Fact]
    public void A_git_file_marks_a_linked_worktree_or_submodule_as_the_repository_root()
    {
        var proj = Touch("wt/src/App/App.csproj");
        File.WriteAllText(Path.Combine(_dir, "wt", ".git"), "gitdir: /elsewhere/.git/worktrees/wt\n");
        Assert.Equal(Path.Combine(_dir, "wt"), ProjectFiles.RepositoryRoot(proj));
    }

    [Fact]
    public void A_repository_that_would_show_a_home_directory_is_narrowed_to_the_project()
    {
        // A dotfiles repository at the home directory must not make the whole home visible.
        var home = Path.Combine(_dir, "home");
        Directory.CreateDirectory(Path.Combine(home, ".git"));
        var proj = Touch("home/src/App/App.csproj");
        Assert.Equal(Path.GetDirectoryName(proj), ProjectInference.VisibleRoot(proj, home));
    }

    [Theory]
    [InlineData("""<?xml version="1.0"?><!DOCTYPE Solution [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Solution><Project Path="&b;.csproj" /></Solution>""", 1)]
    [InlineData("""<?xml version="1.0"?><!DOCTYPE Solution SYSTEM "file:///etc/passwd"><Solution />""", 1)]
    [InlineData("<Solution>\n  <Project Path=\"App/App.csproj\">\n</Solution>", 3)]
    [InlineData("<Solution>\n  <Project Path=\"&secret;\" />\n</Solution>", 2)]
    [InlineData("", 1)]
    public void A_slnx_with_a_dtd_an_entity_or_bad_xml_is_a_coded_error_with_its_line(string xml, int line)
    {
        Touch("App/App.csproj");
        var slnx = Touch("App.slnx", xml);
        var e = Assert.Throws<SandboxException>(() => ProjectFiles.ProjectsOfSolution(slnx));
        Assert.Same(Errors.Errors.XmlFileInvalid, e.Error);
        Assert.Contains(slnx, e.Message, StringComparison.Ordinal);
        Assert.Contains($"at line {line},", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", e.Message, StringComparison.Ordinal);

        // The same solution as dotnet writes it.
        File.WriteAllText(slnx, "<Solution>\n  <Folder Name=\"/src/\">\n    <Project Path=\"App/App.csproj\" />\n  </Folder>\n</Solution>\n");
        Assert.Equal([Path.Combine(_dir, "App", "App.csproj")], ProjectFiles.ProjectsOfSolution(slnx));
    }

    [Fact]
    public async Task A_solution_that_is_a_link_or_a_fifo_is_refused()
    {
        var bait = Touch("elsewhere/secret.slnx", "<Solution><Project Path=\"../App/App.csproj\" /></Solution>");
        Touch("App/App.csproj");
        var slnx = Path.Combine(_dir, "App.slnx");
        File.CreateSymbolicLink(slnx, bait);
        Assert.Same(Errors.Errors.UnsafeFileRefused, Assert.Throws<SandboxException>(() => ProjectFiles.ProjectsOfSolution(slnx)).Error);

        var sln = Path.Combine(_dir, "App.sln");
        var mkfifo = System.Diagnostics.Process.Start("mkfifo", [sln]);
        mkfifo.WaitForExit();
        var read = Task.Run(() => ProjectFiles.ProjectsOfSolution(sln), TestContext.Current.CancellationToken);
        Assert.True(await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)) == read, "reading a FIFO .sln did not end");
        Assert.Same(Errors.Errors.UnsafeFileRefused, Assert.IsType<SandboxException>(read.Exception?.InnerException).Error);

        File.Delete(sln);
        File.WriteAllText(sln, "Microsoft Visual Studio Solution File, Format Version 12.00\nProject(\"{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}\") = \"App\", \"App\\App.csproj\", \"{C7FAA907-353F-4107-B4E9-7B4B15645E0F}\"\nEndProject\n");
        Assert.Equal([Path.Combine(_dir, "App", "App.csproj")], ProjectFiles.ProjectsOfSolution(sln));
    }
}
