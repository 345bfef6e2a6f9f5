using SandboxedBuild.Inference;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests.Project;

public sealed class MsBuildEvaluationTests
{
    private const string Project = "/repo/src/App/App.csproj";

    [Fact]
    public void Default_layout_gives_obj_and_bin_under_the_project_with_their_properties()
    {
        var e = MsBuildEvaluation.Parse(Project, """
            {
              "Properties": {
                "BaseIntermediateOutputPath": "obj\\",
                "MSBuildProjectExtensionsPath": "/repo/src/App/obj/",
                "IntermediateOutputPath": "obj\\Debug/net10.0/",
                "BaseOutputPath": "bin\\",
                "OutputPath": "bin\\Debug/net10.0/",
                "UseArtifactsOutput": "",
                "IsTestProject": "",
                "RestoreSources": ""
              },
              "Items": { "ProjectReference": [ { "Identity": "..\\Lib\\Lib.csproj" } ], "SandboxAllowedHost": [] }
            }
            """);
        Assert.Equal([new SourcedPath("/repo/src/App/obj", "BaseIntermediateOutputPath")], e.IntermediateDirectories);
        Assert.Equal([new SourcedPath("/repo/src/App/bin", "BaseOutputPath")], e.OutputDirectories);
        Assert.Equal(["/repo/src/Lib/Lib.csproj"], e.ProjectReferences);
        Assert.Null(e.ArtifactsPath);
        Assert.False(e.IsTestProject);
    }

    [Fact]
    public void Custom_paths_outside_the_defaults_are_kept_separately()
    {
        var e = MsBuildEvaluation.Parse(Project, """
            {
              "Properties": {
                "BaseIntermediateOutputPath": "obj/",
                "IntermediateOutputPath": "/build/int/App/",
                "BaseOutputPath": "bin/",
                "OutputPath": "../../out/App/",
                "UseArtifactsOutput": "true",
                "ArtifactsPath": "/repo/artifacts",
                "IsTestProject": "True",
                "VSTestResultsDirectory": "/repo/TestResults",
                "RestorePackagesPath": "../../packages",
                "RestoreSources": "https://pkgs.example.com/index.json; /repo/local-feed",
                "RestoreAdditionalProjectSources": "https://extra.example.com/v3/index.json",
                "RestoreFallbackFolders": "/opt/fallback"
              },
              "Items": { "SandboxAllowedHost": [ { "Identity": "localhost:5432" }, { "Identity": "LOCALHOST:5432" } ] }
            }
            """);
        Assert.Equal(["/repo/src/App/obj", "/build/int/App"], e.IntermediateDirectories.Select(d => d.Path));
        Assert.Equal(["/repo/src/App/bin", "/repo/out/App"], e.OutputDirectories.Select(d => d.Path));
        Assert.Equal("/repo/artifacts", e.ArtifactsPath);
        Assert.True(e.IsTestProject);
        Assert.Equal("/repo/TestResults", e.TestResultsDirectory);
        Assert.Equal("/repo/packages", e.RestorePackagesPath);
        Assert.Equal(["https://pkgs.example.com/index.json", "/repo/local-feed", "https://extra.example.com/v3/index.json"], e.RestoreSources);
        Assert.Equal(["/opt/fallback"], e.FallbackFolders);
        Assert.Equal(["localhost:5432"], e.AllowedHosts);
    }

    [Fact]
    public void The_evaluation_script_runs_msbuild_once_per_argument_and_never_builds()
    {
        var script = MsBuildEvaluation.ShellScript();
        Assert.Contains("for p in \"$@\"", script, StringComparison.Ordinal);
        Assert.Contains("-getProperty:MSBuildProjectFullPath,BaseIntermediateOutputPath", script, StringComparison.Ordinal);
        Assert.Contains("-getItem:ProjectReference,SandboxAllowedHost", script, StringComparison.Ordinal);
        Assert.DoesNotContain("-target", script, StringComparison.Ordinal);
        Assert.DoesNotContain("-getTargetResult", script, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void The_evaluation_script_gives_every_project_the_callers_properties_as_words_never_as_script_text()
    {
        // The real /bin/sh and a dotnet that writes back the words it got, one [word] each.
        var dir = Directory.CreateTempSubdirectory("sbx-eval-script-").FullName;
        try
        {
            var bin = Directory.CreateDirectory(Path.Combine(dir, "bin")).FullName;
            File.WriteAllText(Path.Combine(bin, "dotnet"), "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\n");
            File.SetUnixFileMode(Path.Combine(bin, "dotnet"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            string[] properties = [.. Enumerable.Range(1, 10).Select(i => $"-property:P{i}=v{i}"), "-property:Odd=a b;$(HOME) `id` \"q\" 'x'\n"];
            string[] projects = ["/r/a b.csproj", "/r/$(id).csproj"];
            var start = new System.Diagnostics.ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", MsBuildEvaluation.ShellScript(properties.Length), "sh" } };
            foreach (var word in properties.Concat(projects))
            {
                start.ArgumentList.Add(word);
            }

            start.Environment["PATH"] = bin + ":/usr/bin:/bin";
            start.Environment["R"] = dir;
            using (var process = System.Diagnostics.Process.Start(start)!)
            {
                process.WaitForExit();
                Assert.Equal(0, process.ExitCode);
            }

            for (var i = 0; i < projects.Length; i++)
            {
                var words = File.ReadAllText(Path.Combine(dir, i + ".json"));
                Assert.StartsWith($"[msbuild][{projects[i]}][-nologo]", words, StringComparison.Ordinal);
                Assert.EndsWith(string.Concat(properties.Select(p => "[" + p + "]")), words, StringComparison.Ordinal);
                Assert.Equal("0", File.ReadAllText(Path.Combine(dir, i + ".rc")).Trim());
            }

            Assert.False(File.Exists(Path.Combine(dir, "2.json")), "a property was evaluated as a project");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Malformed_answers_throw_instead_of_guessing()
    {
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => MsBuildEvaluation.Parse(Project, "not json"));
        Assert.Throws<System.Text.Json.JsonException>(() => MsBuildEvaluation.Parse(Project, "{}")); // the one documented failure, whatever is wrong
    }

    [Fact]
    public void The_error_excerpt_is_one_bounded_line_with_control_bytes_escaped()
    {
        var secret = string.Join('\n', Enumerable.Range(0, 200).Select(i => "aws_secret_access_key_" + i + "=" + new string('x', 40)));
        var output = "Restoring...\n  \u001b]52;c;cGF5bG9hZA==\u0007/repo/App.csproj(3,5): error MSB4025: broken\u202e txt.exe\r\n" + secret + "\n";
        var excerpt = MsBuildEvaluation.ErrorExcerpt(output);
        Assert.Equal("\\x1B]52;c;cGF5bG9hZA==\\x07/repo/App.csproj(3,5): error MSB4025: broken\\u{202E} txt.exe", excerpt);
        Assert.DoesNotContain("aws_secret_access_key", excerpt, StringComparison.Ordinal);

        var huge = MsBuildEvaluation.ErrorExcerpt(new string('A', 1 << 20) + " error X\n");
        Assert.Equal(MsBuildEvaluation.ExcerptLength + 1, huge.Length);
        Assert.EndsWith("…", huge, StringComparison.Ordinal);
        Assert.Equal("first | second", MsBuildEvaluation.ErrorExcerpt("\n\n first \nsecond"));

        // dotnet's own refusal names its cause after the first line.
        var sdk = MsBuildEvaluation.ErrorExcerpt("The command could not be loaded, possibly because:\n  * You intended to execute a .NET SDK command:\n      A compatible .NET SDK was not found.\n\nRequested SDK version: 9.0.999\nglobal.json file: /r/global.json\n");
        Assert.Equal("The command could not be loaded, possibly because: | * You intended to execute a .NET SDK command: | A compatible .NET SDK was not found. | Requested SDK version: 9.0.999 | global.json file: /r/global.json", sdk);
        Assert.Equal("MSBuild printed nothing", MsBuildEvaluation.ErrorExcerpt(" \n\t\n"));
        Assert.Equal("\\x00\\x85\\x7F\\u{2028}é", TerminalText.Escape("\0\u0085\u007f\u2028é", 100));
    }
}
