using System.Net;
using System.Text;
using SandboxedBuild.Errors;
using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

public sealed class ServiceIndexResolverTests
{
    private const string AzureIndexUrl = "https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json";

    /// <summary>An Azure-Artifacts-like index: most resources on another domain, duplicates, an explicit port, publish and UI entries.</summary>
    private const string AzureIndex = """
        {
          "version": "3.0.0-beta.1",
          "resources": [
            { "@id": "https://contoso.pkgs.visualstudio.com/_packaging/1a2b/nuget/v3/flat2/", "@type": "PackageBaseAddress/3.0.0" },
            { "@id": "https://Contoso.PKGS.VisualStudio.com./_packaging/1a2b/nuget/v3/registrations2/", "@type": ["RegistrationsBaseUrl", "RegistrationsBaseUrl/3.0.0-beta"] },
            { "@id": "https://pkgs.dev.azure.com/contoso/_packaging/1a2b/nuget/v3/query2/", "@type": "SearchQueryService" },
            { "@id": "https://vuln.example.net:8443/contoso/vulnerabilities/index.json", "@type": "VulnerabilityInfo/6.7.0" },
            { "@id": "http://legacy.example.net/registrations/", "@type": "RegistrationsBaseUrl/3.4.0" },
            { "@id": "https://push.example.org/contoso/nuget/v2/", "@type": "PackagePublish/2.0.0" },
            { "@id": "https://www.example.org/packages/{id}/{version}", "@type": "PackageDetailsUriTemplate/5.1.0" },
            { "@id": "relative/path/", "@type": "Catalog/3.0.0" },
            { "@id": 42, "@type": "Catalog/3.0.0" },
            { "@type": "Catalog/3.0.0" },
            "not an object"
          ]
        }
        """;

    private static readonly (string Host, int Port)[] AzureHosts =
    [
        ("pkgs.dev.azure.com", 443),
        ("contoso.pkgs.visualstudio.com", 443),
        ("vuln.example.net", 8443),
        ("legacy.example.net", 80),
    ];

    [Fact]
    public void Hosts_are_distinct_and_the_index_host_comes_first() =>
        Assert.Equal(AzureHosts, ServiceIndexResolver.ParseHosts(AzureIndexUrl, AzureIndex));

    [Fact]
    public void Publishing_endpoints_and_links_for_people_are_kept_only_on_request()
    {
        var all = ServiceIndexResolver.ParseHosts(AzureIndexUrl, AzureIndex, includeNonRestoreResources: true);
        Assert.Equal([.. AzureHosts, ("push.example.org", 443), ("www.example.org", 443)], all);
    }

    [Fact]
    public void The_index_host_keeps_its_explicit_port()
    {
        const string index = """{ "version": "3.0.0", "resources": [ { "@id": "https://feed.example.com:8080/flat/", "@type": "PackageBaseAddress/3.0.0" } ] }""";
        Assert.Equal(
            [("feed.example.com", 8443), ("feed.example.com", 8080)],
            ServiceIndexResolver.ParseHosts("https://FEED.example.com:8443/v3/index.json", index));
    }

    [Theory]
    [InlineData("{ \"version\": \"3.0.0\", \"resources\": [ ", "not valid JSON")]
    [InlineData("<html><body>Sign in</body></html>", "not valid JSON")]
    [InlineData("[1, 2]", "not a JSON object")]
    [InlineData("{ \"resources\": [] }", "version")]
    [InlineData("{ \"version\": \"2.0.0\", \"resources\": [] }", "version")]
    [InlineData("", "not valid JSON")]
    public void Text_that_is_not_a_V3_service_index_is_a_coded_error(string json, string reason)
    {
        var error = Assert.Throws<SandboxException>(() => ServiceIndexResolver.ParseHosts(AzureIndexUrl, json));
        Assert.Equal("SBX3007", error.Error.Code);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_index_without_resources_gives_its_own_host() =>
        Assert.Equal([("api.example.com", 443)], ServiceIndexResolver.ParseHosts("https://api.example.com/v3/index.json", """{ "version": "3.0.0" }"""));

    [Fact]
    public async Task Resolving_fetches_the_index_and_parses_it()
    {
        var handler = new FakeHandler(_ => Json(AzureIndex));

        var result = await Resolve(Source(AzureIndexUrl), handler);

        Assert.Null(result.Error);
        Assert.Equal(AzureHosts, result.Hosts);
        Assert.Equal(AzureIndexUrl, result.SourceUrl);
        Assert.Equal([new Uri(AzureIndexUrl)], handler.Requests);
    }

    [Fact]
    public async Task A_redirected_index_adds_the_host_it_was_served_from()
    {
        var handler = new FakeHandler(request =>
        {
            var response = Json("""{ "version": "3.0.0", "resources": [] }""");
            response.RequestMessage = new HttpRequestMessage(HttpMethod.Get, "https://mirror.example.com/v3/index.json");
            return response;
        });

        var result = await Resolve(Source("https://feed.example.com/v3/index.json"), handler);

        Assert.Equal([("feed.example.com", 443), ("mirror.example.com", 443)], result.Hosts);
    }

    [Fact]
    public async Task An_HTTP_error_leaves_the_index_host_and_says_why()
    {
        var handler = new FakeHandler(_ => new HttpResponseMessage(HttpStatusCode.Unauthorized));

        var result = await Resolve(Source(AzureIndexUrl), handler);

        Assert.Equal([("pkgs.dev.azure.com", 443)], result.Hosts);
        Assert.StartsWith("warning SBX3007: ", result.Error?.ToString(), StringComparison.Ordinal);
        Assert.Contains("HTTP 401", result.Error?.ToString(), StringComparison.Ordinal);
        Assert.Contains("credentials", result.Error?.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://me:PASSWORDSECRET@feed.example.com/v3/index.json?sig=SIGSECRET#FRAGSECRET", "https://feed.example.com/v3/index.json")]
    [InlineData("https://www.myget.org/F/team/auth/KEYSECRET-0000-1111/api/v3/index.json", "https://www.myget.org/… (path hidden")]
    public async Task A_warning_about_a_feed_does_not_repeat_the_secrets_in_its_url(string url, string shown)
    {
        var result = await Resolve(Source(url) with { ProtocolVersion = 3 }, new FakeHandler(_ => new HttpResponseMessage(HttpStatusCode.NotFound)));

        Assert.Contains("SBX3007", result.Error?.ToString(), StringComparison.Ordinal);
        Assert.Contains(shown, result.Error?.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", result.Error?.ToString(), StringComparison.Ordinal);
        Assert.Equal(url, result.SourceUrl); // the key of the cached hosts stays the source's own URL
    }

    [Fact]
    public async Task Bad_JSON_from_the_feed_leaves_the_index_host_and_says_why()
    {
        var result = await Resolve(Source(AzureIndexUrl), new FakeHandler(_ => Json("<html>Sign in</html>")));

        Assert.Equal([("pkgs.dev.azure.com", 443)], result.Hosts);
        Assert.Contains("SBX3007", result.Error?.ToString(), StringComparison.Ordinal);
        Assert.Contains("not valid JSON", result.Error?.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_feed_that_does_not_answer_in_time_is_reported_not_thrown()
    {
        var handler = new FakeHandler(async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return new HttpResponseMessage(HttpStatusCode.OK);
        });

        var result = await Resolve(Source(AzureIndexUrl), handler, TimeSpan.FromMilliseconds(50));

        Assert.Equal([("pkgs.dev.azure.com", 443)], result.Hosts);
        Assert.Contains("no answer within 0.05 s", result.Error?.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_network_failure_is_reported_not_thrown()
    {
        var handler = new FakeHandler((_, _) => throw new HttpRequestException("Name or service not known (pkgs.dev.azure.com:443)"));

        var result = await Resolve(Source(AzureIndexUrl), handler);

        Assert.Contains("Name or service not known", result.Error?.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_callers_cancellation_is_thrown()
    {
        using var cancel = new CancellationTokenSource();
        var handler = new FakeHandler(async (_, ct) =>
        {
            await cancel.CancelAsync();
            await Task.Delay(Timeout.Infinite, ct);
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        using var client = new HttpClient(handler);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => ServiceIndexResolver.ResolveAsync(Source(AzureIndexUrl), TimeSpan.FromSeconds(30), client, cancel.Token));
    }

    [Fact]
    public async Task An_oversized_index_is_refused()
    {
        var huge = new string(' ', ServiceIndexResolver.MaxIndexBytes + 1);

        var result = await Resolve(Source(AzureIndexUrl), new FakeHandler(_ => Json(huge)));

        Assert.Equal([("pkgs.dev.azure.com", 443)], result.Hosts);
        Assert.Contains("larger than", result.Error?.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://www.example.com/api/v2/", 2, "www.example.com", 443)]
    [InlineData("http://nuget.example.com:8081/nuget", 2, "nuget.example.com", 8081)]
    public async Task A_V2_source_gives_its_own_host_without_a_request(string url, int protocolVersion, string host, int port)
    {
        var handler = new FakeHandler(_ => throw new InvalidOperationException("no request expected"));

        var result = await Resolve(Source(url) with { ProtocolVersion = protocolVersion }, handler);

        Assert.Equal([(host, port)], result.Hosts);
        Assert.Null(result.Error);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task A_local_source_has_no_hosts()
    {
        var result = await Resolve(Source("/srv/feed"), new FakeHandler(_ => throw new InvalidOperationException("no request expected")));

        Assert.Empty(result.Hosts);
        Assert.Null(result.Error);
    }

    [Fact]
    public async Task A_protocolVersion_3_source_is_fetched_even_without_json_in_its_url()
    {
        var handler = new FakeHandler(_ => Json("""{ "version": "3.0.0", "resources": [ { "@id": "https://cdn.example.com/flat/", "@type": "PackageBaseAddress/3.0.0" } ] }"""));

        var result = await Resolve(Source("https://repo.example.com/artifactory/api/nuget/v3/feed") with { ProtocolVersion = 3 }, handler);

        Assert.Equal([("repo.example.com", 443), ("cdn.example.com", 443)], result.Hosts);
    }

    private static NuGetSource Source(string url) => new("feed", url, new ConfigOrigin(ConfigOriginKind.ProjectConfig, "/repo/NuGet.config"), false);

    private static async Task<ServiceIndexHosts> Resolve(NuGetSource source, FakeHandler handler, TimeSpan? timeout = null)
    {
        using var client = new HttpClient(handler);
        return await ServiceIndexResolver.ResolveAsync(source, timeout ?? TimeSpan.FromSeconds(5), client, TestContext.Current.CancellationToken);
    }

    private static HttpResponseMessage Json(string body) =>
        new(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private sealed class FakeHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond) : HttpMessageHandler
    {
        public FakeHandler(Func<HttpRequestMessage, HttpResponseMessage> respond)
            : this((request, _) => Task.FromResult(respond(request)))
        {
        }

        public List<Uri> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request.RequestUri!);
            return respond(request, cancellationToken);
        }
    }
}
