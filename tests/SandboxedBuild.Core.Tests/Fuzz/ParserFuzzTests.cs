using System.Text;
using System.Text.Json;
using System.Xml;
using CsCheck;
using SandboxedBuild.Core.Tests.Project;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;
using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Fuzz;

/// <summary>
/// Every parser the tool has, fed generated input (CsCheck, random seed, bounded iterations; a
/// failure prints the seed that reproduces it). Each property: the parser answers with its result
/// or its documented failure, never with another exception; what it accepts is what its grammar
/// says; where there is a writer, what it writes reads back the same.
/// </summary>
/// <remarks>Inputs the generators found that broke a parser are kept as plain tests in <see cref="FuzzFindingsTests"/>.</remarks>
public sealed class ParserFuzzTests
{
    /// <summary>Iterations for the parsers that work in memory.</summary>
    private const long Fast = 3000;

    /// <summary>Iterations for the parsers that read files.</summary>
    private const long WithFiles = 300;

    /// <summary>Characters that make grammars break: separators, controls, NUL, quotes, markup, non-ASCII, a lone surrogate.</summary>
    private const string Nasty = "\0\t\n\r \x01\x1b\x7f\u0085\u00a0\u200b\u202e\ufeff\ud800\udc00é%@#:/\\?[]*.-_\"'<>&;=,{}";

    private static readonly Gen<string> Ascii = Text(Gen.Char[' ', '~'], 0, 24);

    /// <summary>Mostly plausible text with a few hostile characters, so that the interesting branches are reached.</summary>
    private static readonly Gen<string> Mixed = Gen.Frequency(
        (4, Text(Gen.Char["abcxyz019-."], 0, 20)),
        (2, Ascii),
        (2, Text(Gen.OneOf(Gen.Char["abc.-019:"], Gen.Char[Nasty]), 0, 24)),
        (1, Text(Gen.Char, 0, 16)));

    private static Gen<string> Text(Gen<char> chars, int min, int max) => chars.Array[min, max].Select(a => new string(a));

    // Host patterns (--allow-host, --deny-host, SandboxAllowedHost, the saved-hosts file).

    private static readonly Gen<string> HostPatterns = Gen.Frequency(
        (3, Gen.Select(Gen.OneOf(Gen.Const(""), Gen.Const("*.")), Text(Gen.Char["abcxyz019-"], 1, 10).Array[1, 4], Gen.OneOf(Gen.Const(""), Gen.Int[0, 70000].Select(p => ":" + p)),
            (star, labels, port) => star + string.Join('.', labels) + port)),
        (1, Gen.OneOf(Gen.Const("[::1]"), Gen.Const("[::ffff:10.0.0.1]:8443"), Gen.Const("10.0.0.5:80"), Gen.Const("[fe80::1%25eth0]"), Gen.Const("[::1"))),
        (3, Mixed));

    [Fact]
    public void A_host_pattern_is_parsed_or_refused_with_SBX6001_and_what_is_accepted_reads_back()
    {
        HostPatterns.Sample(text =>
        {
            HostRule rule;
            try
            {
                rule = HostRule.Parse(text, "--allow-host", "fuzz");
            }
            catch (SandboxException e)
            {
                Assert.Equal("SBX6001", e.Error.Code);
                return;
            }

            Assert.DoesNotContain(rule.Host, c => char.IsControl(c) || c is ' ' or '%' or '@' or '/' or '#' || c > '\x7f');
            Assert.True(rule.Port is null or (> 0 and < 65536));
            var again = HostRule.Parse(rule.ToString(), "--allow-host", "fuzz");
            Assert.Equal((rule.Host, rule.Port), (again.Host, again.Port));
        }, iter: Fast);
    }

    // The proxy's grammar: authorities and request heads, bytes from the sandbox.

    private static readonly Gen<string> Authorities = Gen.Frequency(
        (3, Gen.Select(Text(Gen.Char["abcxyz019-"], 1, 10).Array[1, 4], Gen.OneOf(Gen.Const(""), Gen.Int[0, 70000].Select(p => ":" + p)), (labels, port) => string.Join('.', labels) + port)),
        (1, Gen.OneOf(Gen.Const("[::1]:443"), Gen.Const("127.0.0.1:80"), Gen.Const("0x7f.1:80"), Gen.Const("2130706433:443"))),
        (2, Mixed));

    /// <summary>A valid authority with one forbidden character put in somewhere.</summary>
    private static readonly Gen<string> PoisonedAuthorities = Gen.Select(Authorities, Gen.Char["\0\x01\t\n\r \x1b\x7f%@\u00e9\u0085"], Gen.Int[0, 100],
        (authority, bad, at) => authority.Insert(at % (authority.Length + 1), bad.ToString()));

    [Fact]
    public void The_authority_grammar_never_throws_and_accepts_only_normalized_hosts_and_ports()
    {
        Gen.Select(Authorities, Gen.Bool).Sample((text, portRequired) =>
        {
            if (Authority.TryParse(text, portRequired, 443, out var host, out var port, out var error))
            {
                Assert.All(host, c => Assert.True(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-' or ':', $"'{text}' gave host '{host}'"));
                Assert.InRange(port, 1, 65535);
                Assert.Empty(error);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(error));
            }
        }, iter: Fast);
    }

    [Fact]
    public void The_authority_grammar_never_accepts_a_control_byte_NUL_percent_at_sign_space_or_non_ASCII()
    {
        PoisonedAuthorities.Sample(text =>
        {
            Assert.False(Authority.TryParse(text, portRequired: false, 443, out var host, out _, out _), $"accepted '{text}' as '{host}'");
            Assert.False(Authority.TryNormalizeName(text, out _, out _));
        }, iter: Fast);
    }

    private static readonly Gen<string> HeaderLines = Gen.Frequency(
        (3, Gen.Select(Gen.OneOf(Gen.Const("Host"), Gen.Const("User-Agent"), Gen.Const("Proxy-Authorization"), Text(Gen.Char["abcXYZ-_ :\t"], 0, 8)), Mixed, (n, v) => n + ": " + v)),
        (1, Mixed));

    private static readonly Gen<string> Heads = Gen.Select(
        Gen.OneOf(Gen.Const("CONNECT"), Gen.Const("GET"), Gen.Const("POST"), Text(Gen.Char["ABCDEFGHIJKLMNOPQRSTUVWXYZ\0 "], 0, 8)),
        Gen.Frequency((2, Authorities), (1, Authorities.Select(a => "http://" + a + "/index.json")), (1, PoisonedAuthorities), (1, PoisonedAuthorities.Select(a => "http://" + a + "/"))),
        Gen.OneOf(Gen.Const("HTTP/1.1"), Gen.Const("HTTP/1.0"), Gen.Const("HTTP/2"), Text(Gen.Char["HTP/.01 \0"], 0, 9)),
        HeaderLines.Array[0, 4],
        Gen.OneOf(Gen.Const("\r\n"), Gen.Const("\n"), Gen.Const("\r")),
        (method, target, version, headers, eol) => string.Join(eol, [$"{method} {target} {version}", .. headers]));

    [Fact]
    public void A_request_head_is_parsed_or_refused_never_thrown_on_and_its_host_is_one_the_grammar_accepts()
    {
        Heads.Sample(head =>
        {
            var bytes = Encoding.Latin1.GetBytes(head);
            if (!HttpRequestHead.TryParse(bytes, out var parsed, out var error))
            {
                Assert.False(string.IsNullOrEmpty(error));
                Assert.Null(HttpRequestHead.Parse(bytes));
                return;
            }

            Assert.NotNull(parsed);
            Assert.True(Authority.TryParse(parsed.Host.Contains(':', StringComparison.Ordinal) ? $"[{parsed.Host}]:{parsed.Port}" : $"{parsed.Host}:{parsed.Port}", true, 0, out var again, out _, out _), parsed.Host);
            Assert.Equal(parsed.Host, again);
            // What the parser saw: the text as bytes (a character Latin-1 lacks is '?'), read back.
            var requestLine = Encoding.Latin1.GetString(bytes).Split("\r\n")[0];
            Assert.DoesNotContain(requestLine, c => c is '\0' || (char.IsControl(c) && c != '\t') || c > '\x7f');

            // No user information or escapes in the authority; '@' and '%' in a path or query are
            // the server's business (npm's scoped packages are /@scope/name).
            var target = requestLine.Split(' ')[1];
            var authority = parsed.IsConnect ? target : target[(target.IndexOf("://", StringComparison.Ordinal) + 3)..];
            authority = authority.IndexOfAny(['/', '?']) is var end and >= 0 ? authority[..end] : authority;
            Assert.DoesNotContain(authority, c => c is '@' or '%');
            Assert.All(parsed.HeaderLines, line => Assert.DoesNotContain(line, c => c is '\0' or '\r' or '\n'));
        }, iter: Fast);
    }

    [Fact]
    public void Random_bytes_are_never_a_request_head_the_parser_throws_on()
    {
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            _ = HttpRequestHead.TryParse(bytes, out _, out _);
        }, iter: Fast);
    }

    // The saved-hosts file: the user's, but hand-edited; the writer and the reader must agree.

    [Fact]
    public void The_saved_hosts_file_reads_whatever_it_holds_and_reads_back_what_was_appended()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(Directory.CreateDirectory(Path.Combine(dir.Path, "dotnet-sandbox")).FullName, "allowed-hosts");
        Gen.Select(HostPatterns.Array[0, 5], Gen.Select(Mixed, Gen.Char["\n\r#\0"]).Select((s, c) => s + c).Array[0, 5]).Sample((patterns, junk) =>
        {
            File.Delete(file);
            var appended = new List<HostRule>();
            foreach (var pattern in patterns)
            {
                try
                {
                    var rule = HostRule.Parse(pattern, "fuzz", "fuzz");
                    UserHostsFile.Append(file, rule);
                    appended.Add(rule);
                }
                catch (SandboxException)
                {
                    // Not a pattern: nothing to save.
                }
            }

            File.AppendAllText(file, string.Concat(junk), Encoding.UTF8);
            var loaded = UserHostsFile.Load(file).Select(r => (r.Host, r.Port)).ToList();
            foreach (var rule in appended)
            {
                Assert.Contains((rule.Host, rule.Port), loaded);
            }
        }, iter: WithFiles, threads: 1);
    }

    // The trust store: outside every sandbox, but a damaged file must read as "nothing approved".

    private static readonly Gen<string> Unicode = Gen.Frequency((3, Mixed), (1, Text(Gen.Char, 0, 20)), (1, Text(Gen.Char[Nasty], 0, 6)));

    private static readonly Gen<ProjectWidening> Widenings = Gen.Select(Gen.Enum<WideningKind>(), Unicode, Unicode, Gen.Enum<WorkflowStep>().Array[1, 3],
        (kind, value, origin, steps) => new ProjectWidening(kind, value, origin, steps));

    [Fact]
    public void The_trust_store_reads_back_what_it_approved_whatever_the_text_of_the_widenings()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "trusted.json");
        Gen.Select(Unicode, Widenings.Array[1, 4]).Sample((entry, widenings) =>
        {
            File.Delete(file);
            TrustStore.Load(file).Approve(entry, widenings);
            var loaded = TrustStore.Load(file);
            Assert.All(widenings, w => Assert.True(loaded.IsApproved(entry, w), $"{w} not read back"));
            Assert.False(loaded.IsApproved(entry + "x", widenings[0]));
        }, iter: WithFiles, threads: 1);
    }

    [Fact]
    public void A_damaged_trust_store_approves_nothing_and_throws_nothing()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "trusted.json");
        var json = Gen.Frequency(
            (2, Gen.Select(Unicode, Unicode, Unicode).Select((e, k, v) => $"{{\"approved\":{{{JsonSerializer.Serialize(e)}:{{{JsonSerializer.Serialize(k)}:{JsonSerializer.Serialize(v)}}}}}}}")),
            (2, JsonValues(3)),
            (1, Mixed));
        json.Sample(text =>
        {
            Write(file, text);
            var store = TrustStore.Load(file);
            Assert.False(store.IsApproved("/repo/App.sln", new ProjectWidening(WideningKind.Host, "evil.example", "fuzz", [WorkflowStep.Test])));
        }, iter: WithFiles, threads: 1);
    }

    // What an evaluation inside the sandbox answers, and the inference cache.

    /// <summary>Arbitrary JSON: objects, arrays, strings (hostile ones too), numbers, booleans, null.</summary>
    private static Gen<string> JsonValues(int depth) => depth == 0
        ? Gen.OneOf(Unicode.Select(s => JsonSerializer.Serialize(s)), Gen.Int.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), Gen.Const("true"), Gen.Const("null"), Gen.Const("\"\\u0000\""), Gen.Const("\"\\ud800\""))
        : Gen.Frequency(
            (2, JsonValues(0)),
            (1, JsonValues(depth - 1).Array[0, 3].Select(a => "[" + string.Join(',', a) + "]")),
            (2, Gen.Select(Gen.OneOf(Gen.Const("Properties"), Gen.Const("Items"), Gen.Const("Identity"), Gen.Const("OutputPath"), Gen.Const("path"), Unicode.Select(s => s)), JsonValues(depth - 1))
                .Array[0, 4].Select(members => "{" + string.Join(',', members.Select(m => JsonSerializer.Serialize(m.Item1) + ":" + m.Item2)) + "}")));

    private static readonly Gen<string> EvaluationValues = Gen.Frequency(
        (3, Gen.OneOf(Gen.Const("obj/"), Gen.Const("bin/Debug/"), Gen.Const("/abs/out"), Gen.Const("..\\..\\x"), Gen.Const("true"), Gen.Const("a;b;;c"), Gen.Const(""))),
        (2, Unicode));

    private static readonly Gen<string> Evaluations = Gen.Frequency(
        (3, Gen.Select(
            Gen.Select(Gen.OneOf(MsBuildEvaluation.Properties), EvaluationValues).Array[0, 8],
            Gen.Select(Gen.OneOf(MsBuildEvaluation.Items), EvaluationValues.Array[0, 3]).Array[0, 3],
            Gen.Bool,
            (props, items, numbers) =>
                "{\"Properties\":{" + string.Join(',', props.Select(p => JsonSerializer.Serialize(p.Item1) + ":" + (numbers && p.Item2.Length == 0 ? "1" : JsonSerializer.Serialize(p.Item2)))) + "}," +
                "\"Items\":{" + string.Join(',', items.Select(i => JsonSerializer.Serialize(i.Item1) + ":[" + string.Join(',', i.Item2.Select(v => numbers ? "{\"Identity\":" + JsonSerializer.Serialize(v) + "}" : JsonSerializer.Serialize(v))) + "]")) + "}}")),
        (2, JsonValues(3)),
        (1, Mixed));

    [Fact]
    public void An_evaluation_answer_is_read_or_refused_with_the_failures_the_caller_turns_into_SBX3011()
    {
        Evaluations.Sample(json =>
        {
            try
            {
                var evaluation = MsBuildEvaluation.Parse("/repo/src/app/app.csproj", json);
                Assert.All(evaluation.IntermediateDirectories.Concat(evaluation.OutputDirectories).Select(p => p.Path), p => Assert.StartsWith("/", p, StringComparison.Ordinal));
            }
            catch (JsonException)
            {
                // Documented: the caller reports SBX3011 with the message.
            }
        }, iter: Fast);
    }

    [Fact]
    public void A_damaged_inference_cache_is_a_miss_never_a_crash()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "cache.json");
        const string Entry = "/repo/App.sln";
        var projects = Gen.Frequency(
            (2, Gen.Select(Unicode, Gen.Bool, JsonValues(1)).Select((p, t, any) =>
                $"{{\"project\":{JsonSerializer.Serialize(p)},\"intermediate\":[{{\"path\":{any},\"property\":\"X\"}}],\"output\":[],\"artifactsPath\":null,\"restorePackagesPath\":{any},\"restoreSources\":[],\"fallbackFolders\":[{any}],\"isTestProject\":{(t ? "true" : any)},\"testResultsDirectory\":null,\"projectReferences\":[],\"allowedHosts\":[]}}")),
            (1, JsonValues(2)));
        var feeds = Gen.Frequency(
            (2, Gen.Select(Unicode, JsonValues(1)).Array[0, 3].Select(f => "{" + string.Join(',', f.Select(x => JsonSerializer.Serialize(x.Item1) + ":[" + x.Item2 + "]")) + "}")),
            (1, Gen.Const("{\"a\":[\"x\"],\"a\":[\"y\"]}")),
            (1, JsonValues(1)));
        Gen.Frequency(
            (3, Gen.Select(projects.Array[0, 3], feeds).Select((p, f) =>
                $"{{\"version\":1,\"entry\":\"{Entry}\",\"repositoryRoot\":\"/repo\",\"environment\":\"e\",\"inputs\":[],\"projects\":[{string.Join(',', p)}],\"feeds\":{f}}}")),
            (1, JsonValues(3))).Sample(json =>
        {
            Write(file, json);
            var model = InferenceCache.Read(file, Entry, "/repo", null!, "e", []);
            if (model is not null)
            {
                Assert.All(model.Projects, p => Assert.NotNull(p.ProjectPath));
                Assert.All(model.FeedHosts, f => Assert.All(f.Value, h => Assert.NotNull(h)));
            }
        }, iter: WithFiles, threads: 1);
    }

    // NuGet.Config: the user's own (sanitized for the sandbox) and the repository's (read for the policy).

    private const string Secret = "S3cr3tT0k3nAbCdEf0123456789XyZ";

    private static readonly Gen<string> Urls = Gen.OneOf(
        Gen.Const("https://api.nuget.org/v3/index.json"),
        Gen.Const($"https://user:{Secret}@pkgs.example.com/v3/index.json"),
        Gen.Const($"https://pkgs.example.com/v3/index.json?sig={Secret}"),
        Gen.Const($"https://pkgs.example.com/F/feed/auth/{Secret}/api/v3/index.json"),
        Gen.Const($"https://pkgs.example.com/{Secret}/index.json"),
        Gen.Const($"ftp://{Secret}@example.com/"),
        Gen.Const("/local/feed"),
        Unicode);

    private static readonly Gen<string> Elements = Gen.OneOf(
        Gen.Select(Unicode, Urls).Select((k, u) => $"<packageSources><add key=\"{Xml(k)}\" value=\"{Xml(u)}\" protocolVersion=\"3\"/></packageSources>"),
        Gen.Select(Unicode, Urls).Select((k, u) => $"<auditSources><clear/><add key=\"{Xml(k)}\" value=\"{Xml(u)}\"/></auditSources>"),
        Unicode.Select(k => $"<packageSourceCredentials><{XmlConvert.EncodeName(k.Length == 0 ? "x" : k)}><add key=\"Username\" value=\"u\"/><add key=\"ClearTextPassword\" value=\"{Secret}\"/></{XmlConvert.EncodeName(k.Length == 0 ? "x" : k)}></packageSourceCredentials>"),
        Gen.Const($"<apikeys><add key=\"https://api.nuget.org\" value=\"{Secret}\"/></apikeys>"),
        Gen.Const($"<config><add key=\"http_proxy.password\" value=\"{Secret}\"/><add key=\"globalPackagesFolder\" value=\"/p\"/></config>"),
        Gen.Const($"<clientCertificates><fileCert packageSource=\"a\" path=\"/c.pfx\" clearTextPassword=\"{Secret}\"/></clientCertificates>"),
        Gen.Const($"<!-- {Secret} -->"),
        Gen.Const($"<?pi {Secret}?>"),
        Gen.Select(Unicode, Unicode).Select((a, b) => $"<{Xml(a)}>{Xml(b)}</{Xml(a)}>"),
        Unicode.Select(k => $"<disabledPackageSources><add key=\"{Xml(k)}\" value=\"true\"/></disabledPackageSources>"),
        Unicode.Select(k => $"<packageSourceMapping><packageSource key=\"{Xml(k)}\"><package pattern=\"*\"/></packageSource></packageSourceMapping>"),
        Unicode.Select(f => $"<fallbackPackageFolders><add key=\"f\" value=\"{Xml(f)}\"/></fallbackPackageFolders>"),
        Mixed);

    private static readonly Gen<string> Configs = Gen.Frequency(
        (4, Gen.Select(Elements.Array[0, 6], Gen.OneOf(Gen.Const("configuration"), Gen.Const("Configuration"), Gen.Const("other")), Gen.OneOf(Gen.Const(""), Gen.Const("<!DOCTYPE configuration [<!ENTITY e \"x\">]>"), Gen.Const("\uFEFF"))).Select((body, root, prolog) =>
            $"<?xml version=\"1.0\" encoding=\"utf-8\"?>{prolog}<{root}>{string.Concat(body)}</{root}>")),
        (1, Mixed));

    [Fact]
    public void The_sanitizer_refuses_with_SBX3021_or_writes_a_config_without_credentials_that_parses_and_sanitizes_to_itself()
    {
        Configs.Sample(xml =>
        {
            string clean;
            try
            {
                clean = NuGetConfigSanitizer.Sanitize(xml, out _, [], "/home/dev/.nuget/NuGet/NuGet.Config");
            }
            catch (SandboxException e)
            {
                Assert.Equal("SBX3021", e.Error.Code);
                return;
            }

            Assert.DoesNotContain(Secret, clean, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret.ToLowerInvariant(), clean.ToLowerInvariant(), StringComparison.Ordinal);
            using (var reader = XmlReader.Create(new StringReader(clean), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null }))
            {
                var doc = System.Xml.Linq.XDocument.Load(reader);
                Assert.Equal("configuration", doc.Root!.Name.LocalName);
                Assert.DoesNotContain(doc.Descendants(), e => e.Name.LocalName is "packageSourceCredentials" or "apikeys" or "clientCertificates");
            }

            Assert.Equal(clean, NuGetConfigSanitizer.Sanitize(clean, out var again, [], "copy"));
            Assert.Empty(again);
        }, iter: Fast);
    }

    [Fact]
    public void A_repository_NuGet_config_is_read_or_refused_with_a_coded_error()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        var config = Path.Combine(tree.Dir("repo"), "NuGet.config");
        Configs.Sample(xml =>
        {
            Write(config, xml);
            try
            {
                var snapshot = tree.Read("repo");
                Assert.StartsWith("/", snapshot.GlobalPackagesFolder, StringComparison.Ordinal);
            }
            catch (SandboxException e)
            {
                Assert.Contains(e.Error.Code, new[] { "SBX3008", "SBX3009" });
            }
        }, iter: WithFiles, threads: 1);
    }

    // Solutions the tool reads itself.

    private static readonly Gen<string> SolutionPaths = Gen.OneOf(Gen.Const("src/app/app.csproj"), Gen.Const("..\\..\\etc\\passwd.csproj"), Gen.Const("/abs/x.csproj"), Unicode);

    [Fact]
    public void A_solution_file_is_read_or_refused_with_a_coded_error()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(dir.Path, "src", "app"));
        File.WriteAllText(Path.Combine(dir.Path, "src", "app", "app.csproj"), "<Project/>");
        var slnx = Path.Combine(dir.Path, "App.slnx");
        var sln = Path.Combine(dir.Path, "App.sln");
        var slnxText = Gen.Frequency(
            (3, SolutionPaths.Array[0, 4].Select(paths => "<Solution>" + string.Concat(paths.Select((p, i) => $"<Folder Name=\"/x{i}/\"><Project Path=\"{Xml(p)}\"/></Folder>")) + "</Solution>")),
            (1, Gen.Const("<!DOCTYPE Solution [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Solution><Project Path=\"&x;\"/></Solution>")),
            (1, Mixed));
        var slnText = Gen.Frequency(
            (3, SolutionPaths.Array[0, 4].Select(paths => "Microsoft Visual Studio Solution File, Format Version 12.00\n"
                + string.Concat(paths.Select((p, i) => $"Project(\"{{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}}\") = \"x{i}\", \"{p}\", \"{{00000000-0000-0000-0000-{i:D12}}}\"\nEndProject\n")))),
            (1, Unicode));
        Gen.Select(slnxText, slnText).Sample((x, s) =>
        {
            Write(slnx, x);
            Write(sln, s);
            foreach (var solution in new[] { slnx, sln })
            {
                try
                {
                    Assert.All(ProjectFiles.ProjectsOfSolution(solution), p => Assert.True(File.Exists(p)));
                }
                catch (SandboxException e)
                {
                    Assert.Contains(e.Error.Code, new[] { "SBX3018", "SBX3019", "SBX3028" });
                }
            }
        }, iter: WithFiles, threads: 1);
    }

    // What a feed answers (the network's), what a restore left in obj/ (the sandbox's), and the bounds.

    private static readonly Gen<string> ServiceIndexes = Gen.Frequency(
        (3, Gen.Select(Gen.OneOf(Gen.Const("\"3.0.0\""), Gen.Const("\"2.0\""), Gen.Const("3"), Gen.Const("null")), Gen.Select(Gen.OneOf(Urls, Gen.Const("http://[::1]:99999/x"), Gen.Const("https://u:p@h/"), Gen.Const("//h/x")), JsonValues(1)).Array[0, 4]).Select((version, resources) =>
            "{\"version\":" + version + ",\"resources\":[" + string.Join(',', resources.Select(r => "{\"@id\":" + JsonSerializer.Serialize(r.Item1) + ",\"@type\":" + r.Item2 + "}")) + "],}")),
        (2, JsonValues(3)),
        (1, Mixed));

    [Fact]
    public void A_service_index_is_read_or_refused_with_SBX3007_and_yields_only_ports_of_http_hosts()
    {
        ServiceIndexes.Sample(json =>
        {
            try
            {
                var hosts = ServiceIndexResolver.ParseHosts("https://pkgs.example.com/v3/index.json", json, includeNonRestoreResources: true);
                Assert.Equal(("pkgs.example.com", 443), hosts[0]);
                Assert.All(hosts, h => Assert.InRange(h.Port, 1, 65535));
                Assert.All(hosts, h => Assert.DoesNotContain(h.Host, c => char.IsControl(c) || c is ' ' or '@' or '/'));
            }
            catch (SandboxException e)
            {
                Assert.Equal("SBX3007", e.Error.Code);
            }
        }, iter: Fast);
    }

    [Fact]
    public void A_restore_record_the_sandbox_left_in_obj_is_read_as_up_to_date_or_not_never_thrown_on()
    {
        using var dir = new TempDirectory();
        var obj = Directory.CreateDirectory(Path.Combine(dir.Path, "obj")).FullName;
        var input = Path.Combine(dir.Path, "app.csproj");
        File.WriteAllText(input, "<Project/>");
        File.SetLastWriteTimeUtc(input, DateTime.UtcNow.AddHours(-1));
        File.WriteAllText(Path.Combine(obj, "project.assets.json"), "{}");
        var evaluation = new ProjectEvaluation(input, [new SourcedPath(obj, "BaseIntermediateOutputPath")], [], null, null, [], [], false, null, [], []);
        var model = new ProjectModel(input, dir.Path, [evaluation], null!, System.Collections.Immutable.ImmutableDictionary<string, System.Collections.Immutable.ImmutableArray<string>>.Empty, false, TimeSpan.Zero) { Inputs = [input] };
        var records = Gen.Frequency(
            (3, Gen.Select(Gen.OneOf(Gen.Const("true"), Gen.Const("false"), Gen.Const("\"true\""), Gen.Const("1")), Gen.OneOf(Gen.Const(input), Gen.Const("/no/such/file"), Gen.Const("a\u0000b"), Unicode).Select(f => JsonSerializer.Serialize(f)).Array[0, 3], JsonValues(1))
                .Select((ok, files, any) => $"{{\"success\":{ok},\"expectedPackageFiles\":[{string.Join(',', files.Append(any))}]}}")),
            (1, Gen.Const("{\"success\":true,\"expectedPackageFiles\":[null]}")),
            (2, JsonValues(3)),
            (1, Mixed));
        records.Sample(json =>
        {
            Write(Path.Combine(obj, "project.nuget.cache"), json);
            try
            {
                if (RestoreState.IsUpToDate(model, out var why))
                {
                    using var doc = JsonDocument.Parse(json);
                    Assert.Equal(JsonValueKind.True, doc.RootElement.GetProperty("success").ValueKind);
                    if (doc.RootElement.TryGetProperty("expectedPackageFiles", out var files))
                    {
                        Assert.All(files.EnumerateArray(), f => Assert.True(f.ValueKind == JsonValueKind.String && File.Exists(f.GetString()), $"up to date with {f}"));
                    }

                    Assert.Empty(why);
                }
                else
                {
                    Assert.False(string.IsNullOrEmpty(why));
                }
            }
            catch (SandboxException e)
            {
                Assert.Equal("SBX3018", e.Error.Code);
            }
        }, iter: WithFiles, threads: 1);
    }

    [Fact]
    public void A_resource_bound_is_a_number_in_range_or_SBX1013()
    {
        Gen.Frequency((2, Text(Gen.Char["0123456789KMGTkmgtB.-+ e"], 0, 22)), (1, Mixed)).Sample(text =>
        {
            try
            {
                Assert.True(Policy.ResourceBounds.ParseSize(text) >= 1 << 20);
            }
            catch (SandboxException e)
            {
                Assert.Equal("SBX1013", e.Error.Code);
            }

            try
            {
                Assert.InRange(Policy.ResourceBounds.ParseMaxProcesses(text), 1, 4194304);
            }
            catch (SandboxException e)
            {
                Assert.Equal("SBX1013", e.Error.Code);
            }
        }, iter: Fast);
    }

    /// <summary>Writes text as UTF-8, a lone surrogate as U+FFFD (as any file on disk holds it).</summary>
    private static void Write(string path, string text) => File.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));

    /// <summary>Text as an XML attribute or element body carries it: escaped, with the characters XML cannot hold dropped.</summary>
    private static string Xml(string text) => System.Security.SecurityElement.Escape(new string([.. text.Where(XmlConvert.IsXmlChar)]));
}

/// <summary>A temporary directory, removed at the end.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("sbx-fuzz-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
