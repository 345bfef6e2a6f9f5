using System.Text;
using System.Text.Json;
using SandboxedBuild.Network;
using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Fuzz;

/// <summary>
/// Inputs the generators of <see cref="ParserFuzzTests"/> found that broke a parser, kept as plain
/// tests so that they are tried on every run whatever the seed.
/// </summary>
public sealed class FuzzFindingsTests
{
    [Theory]
    [InlineData("GET http://U?@/index.json HTTP/1.0", "u", "/?@/index.json")]
    [InlineData("GET http://registry.npmjs.org/@scope/name HTTP/1.1", "registry.npmjs.org", "/@scope/name")]
    public void An_at_sign_after_the_authority_is_path_or_query_and_the_host_is_what_precedes_it(string requestLine, string host, string target)
    {
        // The fuzzer's first invariant refused '@' anywhere in the request line; only the authority
        // must be free of it. The host the proxy decides on and the one it connects to are the same
        // (normalized to lower case).
        Assert.True(HttpRequestHead.TryParse(Encoding.ASCII.GetBytes(requestLine + "\r\nHost: " + host.ToUpperInvariant()), out var head, out var error), error);
        Assert.Equal(host, head!.Host);
        Assert.Equal(target, head.Target);
    }

    [Fact]
    public void An_evaluation_answer_whose_items_are_not_objects_is_the_documented_JsonException()
    {
        // Was InvalidOperationException from TryGetProperty on a string item.
        Assert.Throws<JsonException>(() => MsBuildEvaluation.Parse("/repo/app.csproj", """{"Properties":{},"Items":{"SandboxAllowedHost":["evil.example"]}}"""));
    }

    [Theory]
    [InlineData("""{"Properties":{"OutputPath":"bin/\u0000x"},"Items":{}}""")]
    [InlineData("""{"Properties":{},"Items":{"ProjectReference":[{"Identity":"../a\u0000.csproj"}]}}""")]
    [InlineData("""{"Properties":{"RestoreFallbackFolders":"/f;\u0000"},"Items":{}}""")]
    public void An_evaluation_answer_with_NUL_in_a_path_is_the_documented_JsonException(string json)
    {
        // Was ArgumentException ("Null character in path") from Path.GetFullPath, which the caller
        // did not catch: a project could make the tool crash with a stack trace.
        Assert.Throws<JsonException>(() => MsBuildEvaluation.Parse("/repo/app.csproj", json));
    }

    [Fact]
    public void An_evaluation_answer_with_a_property_of_another_type_is_the_documented_JsonException()
    {
        Assert.Throws<JsonException>(() => MsBuildEvaluation.Parse("/repo/app.csproj", """{"Properties":{"OutputPath":1},"Items":{}}"""));
        Assert.Throws<JsonException>(() => MsBuildEvaluation.Parse("/repo/app.csproj", """{"Items":{}}"""));
        Assert.Throws<JsonException>(() => MsBuildEvaluation.Parse("/repo/app.csproj", "[]"));
    }

    [Fact]
    public void A_well_formed_evaluation_answer_still_reads()
    {
        var e = MsBuildEvaluation.Parse("/repo/app.csproj", """{"Properties":{"OutputPath":"bin/Debug/"},"Items":{"SandboxAllowedHost":[{"Identity":"db.example"}]}}""");
        Assert.Equal("/repo/bin/Debug", Assert.Single(e.OutputDirectories).Path);
        Assert.Equal(["db.example"], e.AllowedHosts);
    }

    [Fact]
    public void A_solution_naming_a_project_path_with_NUL_skips_it_and_keeps_the_others()
    {
        // Was ArgumentException from Path.GetFullPath: a committed .sln could crash the tool.
        using var dir = new TempDirectory();
        var app = Path.Combine(Directory.CreateDirectory(Path.Combine(dir.Path, "app")).FullName, "app.csproj");
        File.WriteAllText(app, "<Project/>");
        var sln = Path.Combine(dir.Path, "App.sln");
        File.WriteAllText(sln, "Microsoft Visual Studio Solution File, Format Version 12.00\nProject(\"{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}\") = \"x\", \"a\0b.csproj\", \"{11111111-1111-1111-1111-111111111111}\"\nEndProject\n"
            + "Project(\"{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}\") = \"app\", \"app\\app.csproj\", \"{22222222-2222-2222-2222-222222222222}\"\nEndProject\n");
        Assert.Equal([app], ProjectFiles.ProjectsOfSolution(sln));
    }

    [Fact]
    public void A_slnx_naming_a_project_path_with_an_encoded_NUL_is_refused_as_invalid_XML_not_a_crash()
    {
        using var dir = new TempDirectory();
        var slnx = Path.Combine(dir.Path, "App.slnx");
        File.WriteAllText(slnx, "<Solution><Project Path=\"a&#0;b.csproj\"/></Solution>");
        Assert.Equal("SBX3019", Assert.Throws<Errors.SandboxException>(() => ProjectFiles.ProjectsOfSolution(slnx)).Error.Code);
    }

    [Fact]
    public void An_inference_cache_with_a_feed_named_twice_is_a_miss_not_a_crash()
    {
        // Was ArgumentException from ToImmutableDictionary: JSON allows a member twice.
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "cache.json");
        File.WriteAllText(file, """{"version":2,"entry":"/repo/App.sln","repositoryRoot":"/repo","environment":"e","inputs":[],"projects":[],"feeds":{"a":["x"],"a":["y"]}}""");
        Assert.Null(InferenceCache.Read(file, "/repo/App.sln", "/repo", null!, "e", []));

        File.WriteAllText(file, """{"version":2,"entry":"/repo/App.sln","repositoryRoot":"/repo","environment":"e","inputs":[],"projects":[],"feeds":{"a":["x"]}}""");
        Assert.Equal(["x"], InferenceCache.Read(file, "/repo/App.sln", "/repo", null!, "e", [])!.FeedHosts["a"]);
    }

    [Fact]
    public void An_inference_cache_with_a_member_it_does_not_know_or_without_one_it_needs_is_a_miss()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "cache.json");
        const string Good = """{"version":2,"entry":"/repo/App.sln","repositoryRoot":"/repo","environment":"e","inputs":[],"projects":[],"feeds":{}}""";
        File.WriteAllText(file, Good);
        Assert.NotNull(InferenceCache.Read(file, "/repo/App.sln", "/repo", null!, "e", []));
        foreach (var damaged in new[]
        {
            Good.Replace("\"feeds\":{}", "\"feeds\":{},\"hosts\":[\"evil.example\"]", StringComparison.Ordinal),
            Good.Replace(",\"feeds\":{}", string.Empty, StringComparison.Ordinal),
            Good.Replace("\"projects\":[]", "\"projects\":[null]", StringComparison.Ordinal),
            Good.Replace("\"entry\":\"/repo/App.sln\"", "\"entry\":null", StringComparison.Ordinal),
        })
        {
            File.WriteAllText(file, damaged);
            Assert.Null(InferenceCache.Read(file, "/repo/App.sln", "/repo", null!, "e", []));
        }
    }

    [Fact]
    public void An_inference_cache_with_null_where_a_string_belongs_is_a_miss()
    {
        // Was a model holding null hosts and paths, for the policy builder to trip over later.
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "cache.json");
        File.WriteAllText(file, """{"version":2,"entry":"/repo/App.sln","repositoryRoot":"/repo","environment":"e","inputs":[],"projects":[],"feeds":{"a":[null]}}""");
        Assert.Null(InferenceCache.Read(file, "/repo/App.sln", "/repo", null!, "e", []));
    }

    [Fact]
    public void A_service_index_that_is_not_valid_UTF16_is_SBX3007_not_an_ArgumentException()
    {
        var e = Assert.Throws<Errors.SandboxException>(() => ServiceIndexResolver.ParseHosts("https://pkgs.example.com/v3/index.json", "-\ud800 "));
        Assert.Equal("SBX3007", e.Error.Code);
        Assert.Equal([("pkgs.example.com", 443)], ServiceIndexResolver.ParseHosts("https://pkgs.example.com/v3/index.json", """{"version":"3.0.0","resources":[]}"""));
    }

    [Fact]
    public void A_restore_record_with_a_null_package_file_is_not_up_to_date()
    {
        // Was read as "every package file present": FirstOrDefault found the null and the pattern dropped it.
        using var dir = new TempDirectory();
        var obj = Directory.CreateDirectory(Path.Combine(dir.Path, "obj")).FullName;
        var input = Path.Combine(dir.Path, "app.csproj");
        File.WriteAllText(input, "<Project/>");
        File.SetLastWriteTimeUtc(input, DateTime.UtcNow.AddHours(-1));
        File.WriteAllText(Path.Combine(obj, "project.assets.json"), "{}");
        var evaluation = new ProjectEvaluation(input, [new SourcedPath(obj, "BaseIntermediateOutputPath")], [], null, null, [], [], false, null, [], []);
        var model = new ProjectModel(input, dir.Path, [evaluation], null!, System.Collections.Immutable.ImmutableDictionary<string, System.Collections.Immutable.ImmutableArray<string>>.Empty, false, TimeSpan.Zero) { Inputs = [input] };

        File.WriteAllText(Path.Combine(obj, "project.nuget.cache"), """{"success":true,"expectedPackageFiles":[null]}""");
        Assert.False(RestoreState.IsUpToDate(model, out var why));
        Assert.Contains("unreadable", why, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(obj, "project.nuget.cache"), $$"""{"success":true,"expectedPackageFiles":[{{JsonSerializer.Serialize(input)}}]}""");
        Assert.True(RestoreState.IsUpToDate(model, out _));
    }

    [Fact]
    public void An_approval_for_an_entry_with_a_lone_surrogate_is_found_again_after_a_reload()
    {
        // Was written as U+FFFD and then looked up by the original string: approved, then not found.
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "trusted.json");
        var widening = new ProjectWidening(WideningKind.Host, "db.example", "SandboxAllowedHost in /repo/app.csproj", [WorkflowStep.Test]);
        TrustStore.Load(file).Approve("/repo/\ud800x.sln", [widening]);
        Assert.True(TrustStore.Load(file).IsApproved("/repo/\ud800x.sln", widening));
        Assert.False(TrustStore.Load(file).IsApproved("/repo/x.sln", widening));
        Assert.Contains("\uFFFD", Encoding.UTF8.GetString(File.ReadAllBytes(file)).Replace("\\uFFFD", "\uFFFD", StringComparison.OrdinalIgnoreCase), StringComparison.Ordinal);
    }
}
