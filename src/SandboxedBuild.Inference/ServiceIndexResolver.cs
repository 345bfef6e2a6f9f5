using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Inference;

/// <summary>The hosts a restore contacts for one package source.</summary>
/// <param name="SourceUrl">The source's URL (or path, for a local feed).</param>
/// <param name="Hosts">
/// Distinct host and port pairs, the source's own host first; empty for a local feed. Hosts are
/// normalized as the egress proxy compares them (lower case, no trailing dot, IDN in ASCII).
/// </param>
/// <param name="Error">
/// Why the service index could not be read (a coded SBX3007 warning), in which case
/// <paramref name="Hosts"/> holds the source's own host only; <see langword="null"/> otherwise.
/// </param>
public sealed record ServiceIndexHosts(string SourceUrl, ImmutableArray<(string Host, int Port)> Hosts, Diagnostic? Error);

/// <summary>
/// Resolves a NuGet V3 service index to the hosts its resources live on. A feed's index often points
/// elsewhere (Azure Artifacts, GitHub Packages, a CDN), and a restore contacts those hosts too.
/// </summary>
/// <remarks>
/// Resources a restore never uses are left out by default: publishing endpoints
/// (<c>PackagePublish/*</c>, <c>SymbolPackagePublish/*</c>) and the links meant for people
/// (<c>*UriTemplate/*</c>). For nuget.org that keeps <c>www.nuget.org</c>, where packages are pushed,
/// off the list. Hosts that a feed redirects downloads to (for example blob storage behind Azure
/// Artifacts) are not in the index at all; the proxy sees them only at run time.
/// <para>
/// Why not NuGet.Protocol's <c>ServiceIndexResourceV3Provider</c> (8.0.0, tried 2026-12-07): its fetch
/// tries six times a second apart on any failure, a 401 or a page of HTML included (5.5 s where this
/// makes one request), with no per-call way to say otherwise (the count comes from the process's
/// environment, which a library hosted in MSBuild must not change); it reads and writes the user's
/// on-disk HTTP cache, so a second process got the index without a request; and the one public
/// constructor that parses an index the tool fetched itself takes a Newtonsoft <c>JObject</c>
/// (IL2026/IL3050 under Native AOT). The fetch here is policy: one bounded request, no credentials,
/// no cache, the redirect's host captured. The parsing is the smallest that fits, and follows
/// NuGet's rules where they matter for hosts: an index needs a 3.x <c>version</c>, <c>@type</c> is a
/// string or an array, relative <c>@id</c>s are skipped.
/// </para>
/// </remarks>
public static class ServiceIndexResolver
{
    /// <summary>How long <see cref="ResolveAsync(NuGetSource, TimeSpan, CancellationToken)"/> waits by default.</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest index read; nuget.org's is about 10 KB.</summary>
    internal const int MaxIndexBytes = 4 * 1024 * 1024;

    private static readonly Lazy<HttpClient> SharedClient = new(CreateClient);

    /// <summary>
    /// Parses a V3 service index into the distinct hosts of the resources a restore may use, the index's
    /// own host first.
    /// </summary>
    /// <param name="sourceUrl">The absolute http(s) URL the index was fetched from.</param>
    /// <param name="json">The index.</param>
    /// <exception cref="SandboxException">SBX3007 when <paramref name="json"/> is not a V3 service index.</exception>
    public static ImmutableArray<(string Host, int Port)> ParseHosts(string sourceUrl, string json) =>
        ParseHosts(sourceUrl, json, includeNonRestoreResources: false);

    /// <summary>
    /// Parses a V3 service index into distinct hosts, the index's own host first, optionally keeping
    /// publishing endpoints and links for people (see the remarks on the type).
    /// </summary>
    /// <param name="sourceUrl">The absolute http(s) URL the index was fetched from.</param>
    /// <param name="json">The index.</param>
    /// <param name="includeNonRestoreResources">Whether to keep every <c>resources[].@id</c>, whatever its type.</param>
    /// <exception cref="SandboxException">SBX3007 when <paramref name="json"/> is not a V3 service index.</exception>
    public static ImmutableArray<(string Host, int Port)> ParseHosts(string sourceUrl, string json, bool includeNonRestoreResources)
    {
        var origin = IndexUri(sourceUrl);
        return TryParse(json, includeNonRestoreResources, out var resources, out var problem)
            ? Distinct([Endpoint(origin), .. resources])
            : throw new SandboxException(Errors.Errors.ServiceIndexUnreadable, sourceUrl, problem);
    }

    /// <summary>
    /// Fetches a V3 source's service index through the caller's proxy settings and lists the hosts of its
    /// resources. Never throws for an unreachable or invalid index: the result then carries the source's
    /// own host and an <see cref="ServiceIndexHosts.Error"/>.
    /// </summary>
    /// <param name="source">The source. A local feed gives no hosts; an HTTP source that is not a V3 index (see <see cref="NuGetSource.IsV3ServiceIndex"/>) gives its own host without a request.</param>
    /// <param name="timeout">How long to wait for the whole index; <see cref="TimeSpan.Zero"/> means <see cref="DefaultTimeout"/>.</param>
    /// <param name="ct">Cancels the request; cancellation is thrown, not reported.</param>
    public static Task<ServiceIndexHosts> ResolveAsync(NuGetSource source, TimeSpan timeout, CancellationToken ct) =>
        ResolveAsync(source, timeout, SharedClient.Value, ct);

    /// <summary>As <see cref="ResolveAsync(NuGetSource, TimeSpan, CancellationToken)"/>, waiting <see cref="DefaultTimeout"/>.</summary>
    public static Task<ServiceIndexHosts> ResolveAsync(NuGetSource source, CancellationToken ct = default) =>
        ResolveAsync(source, DefaultTimeout, SharedClient.Value, ct);

    /// <summary>The fetch, with the client supplied (tests pass one over a fake handler).</summary>
    internal static async Task<ServiceIndexHosts> ResolveAsync(NuGetSource source, TimeSpan timeout, HttpClient client, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(client);
        if (timeout == TimeSpan.Zero)
        {
            timeout = DefaultTimeout;
        }

        if (!NuGetSource.TryGetHttpUri(source.Url, out var uri))
        {
            return new ServiceIndexHosts(source.Url, [], null);
        }

        ImmutableArray<(string Host, int Port)> own = [Endpoint(uri)];
        if (!source.IsV3ServiceIndex)
        {
            return new ServiceIndexHosts(source.Url, own, null);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                var hint = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? "; the feed needs credentials, which are not sent" : string.Empty;
                return Failed(source, own, $"HTTP {status.ToString(CultureInfo.InvariantCulture)} ({response.ReasonPhrase}){hint}");
            }

            // A redirect moves the index to another host, which the restore contacts as well.
            var final = response.RequestMessage?.RequestUri is { } redirected && NuGetSource.TryGetHttpUri(redirected.AbsoluteUri, out var r) ? r : uri;
            var json = await ReadLimitedAsync(response.Content, deadline.Token).ConfigureAwait(false);
            if (json is null)
            {
                return Failed(source, [.. Distinct([.. own, Endpoint(final)])], $"the index is larger than {MaxIndexBytes / (1024 * 1024)} MiB");
            }

            return TryParse(json, includeNonRestoreResources: false, out var resources, out var problem)
                ? new ServiceIndexHosts(source.Url, Distinct([.. own, Endpoint(final), .. resources]), null)
                : Failed(source, [.. Distinct([.. own, Endpoint(final)])], problem);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Failed(source, own, $"no answer within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }
        catch (HttpRequestException e)
        {
            var detail = e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal) ? $"{e.Message} ({inner.Message})" : e.Message;
            return Failed(source, own, detail);
        }
    }

    private static ServiceIndexHosts Failed(NuGetSource source, ImmutableArray<(string Host, int Port)> hosts, string problem) =>
        new(source.Url, hosts, Errors.Errors.ServiceIndexUnreadable.With(ForMessage(source.Url), problem));

    /// <summary>
    /// The URL as a message shows it: without user info, query and fragment, and with the path cut
    /// when it looks like it holds a key (<see cref="NuGetConfigSanitizer.SecretInPath"/>), since
    /// warnings end up in terminals and CI logs.
    /// </summary>
    internal static string ForMessage(string url)
    {
        if (!NuGetSource.TryGetHttpUri(url, out var uri))
        {
            return url;
        }

        var shown = uri.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);
        return NuGetConfigSanitizer.SecretInPath(uri) is null
            ? shown + uri.GetComponents(UriComponents.Path | UriComponents.KeepDelimiter, UriFormat.UriEscaped)
            : shown + "/… (path hidden: it looks like it holds a key)";
    }

    private static async Task<string?> ReadLimitedAsync(HttpContent content, CancellationToken ct)
    {
        if (content.Headers.ContentLength > MaxIndexBytes)
        {
            return null;
        }

        using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxIndexBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        // JsonDocument wants text; a BOM or a charset other than UTF-8 is not something V3 feeds send.
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads the resources' endpoints; false with a reason when the text is not a V3 service index.</summary>
    internal static bool TryParse(string json, bool includeNonRestoreResources, out List<(string Host, int Port)> resources, out string problem)
    {
        resources = [];
        problem = string.Empty;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            // ArgumentException: text that is not valid UTF-16 (a lone surrogate) cannot be JSON either.
            problem = $"the index is not valid JSON ({e.Message})";
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "the index is not a JSON object";
                return false;
            }

            // NuGet refuses an index without a 3.x.y version, and the restore then fails on this source.
            if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.String
                || !(version.GetString() ?? string.Empty).StartsWith("3.", StringComparison.Ordinal))
            {
                problem = "the index has no \"version\": \"3.x.y\", so it is not a NuGet V3 service index";
                return false;
            }

            if (!root.TryGetProperty("resources", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return true;
            }

            foreach (var resource in list.EnumerateArray())
            {
                if (resource.ValueKind == JsonValueKind.Object
                    && resource.TryGetProperty("@id", out var id) && id.ValueKind == JsonValueKind.String
                    && NuGetSource.TryGetHttpUri(id.GetString()!, out var uri)
                    && (includeNonRestoreResources || UsedByRestore(resource)))
                {
                    resources.Add(Endpoint(uri));
                }
            }

            return true;
        }
    }

    /// <summary>False only when every <c>@type</c> of the resource is a publishing endpoint or a link for people.</summary>
    private static bool UsedByRestore(JsonElement resource)
    {
        if (!resource.TryGetProperty("@type", out var type))
        {
            return true;
        }

        IEnumerable<string> types = type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array => type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!).ToList(),
            _ => [],
        };
        var all = types.ToList();
        return all.Count == 0 || !all.All(t =>
            t.StartsWith("PackagePublish/", StringComparison.OrdinalIgnoreCase)
            || t.StartsWith("SymbolPackagePublish/", StringComparison.OrdinalIgnoreCase)
            || t.Contains("UriTemplate/", StringComparison.OrdinalIgnoreCase));
    }

    private static Uri IndexUri(string sourceUrl) =>
        NuGetSource.TryGetHttpUri(sourceUrl, out var uri)
            ? uri
            : throw new ArgumentException($"'{sourceUrl}' is not an absolute http(s) URL.", nameof(sourceUrl));

    private static (string Host, int Port) Endpoint(Uri uri) => (NuGetSource.HostOf(uri), uri.Port);

    private static ImmutableArray<(string Host, int Port)> Distinct(IEnumerable<(string Host, int Port)> endpoints) =>
        [.. endpoints.Distinct()];

    private static HttpClient CreateClient()
    {
        // The default handler takes the proxy from HTTPS_PROXY/HTTP_PROXY/NO_PROXY, as the caller's own tools do.
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.All,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("dotnet-sandbox", null));
        return client;
    }
}
