using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SandboxedBuild.IntegrationTests.Infrastructure;

/// <summary>
/// A NuGet V3 feed with only a flat container, on loopback: enough for a restore of the packages in
/// one folder of .nupkg files. Records every request path.
/// </summary>
public sealed class LoopbackNuGetFeed : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _folder;
    private readonly List<string> _requests = [];
    private readonly Task _loop;

    public LoopbackNuGetFeed(string folder)
    {
        _folder = folder;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    /// <summary>The port the service index names for the packages, when clients reach the feed through a relay.</summary>
    public int? AdvertisedPort { get; set; }

    public string IndexUrl => $"http://127.0.0.1:{Port}/v3/index.json";

    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var path = context.Request.Url!.AbsolutePath;
            lock (_requests)
            {
                _requests.Add(path);
            }

            var (status, body, type) = Answer(path);
            context.Response.StatusCode = status;
            context.Response.ContentType = type;
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        }
    }

    private (int, byte[], string) Answer(string path)
    {
        if (path == "/v3/index.json")
        {
            return (200, Encoding.UTF8.GetBytes($$"""{"version":"3.0.0","resources":[{"@id":"http://127.0.0.1:{{AdvertisedPort ?? Port}}/v3-flatcontainer/","@type":"PackageBaseAddress/3.0.0"}]}"""), "application/json");
        }

        var packages = Directory.EnumerateFiles(_folder, "*.nupkg")
            .Select(f => Path.GetFileNameWithoutExtension(f).ToLowerInvariant())
            .Select(n => (Id: string.Join('.', n.Split('.').TakeWhile(p => !p.All(char.IsDigit))), File: n))
            .ToList();
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts is ["v3-flatcontainer", var id, "index.json"] && packages.Where(p => p.Id == id).ToList() is { Count: > 0 } found)
        {
            var versions = string.Join(',', found.Select(p => "\"" + p.File[(id.Length + 1)..] + "\""));
            return (200, Encoding.UTF8.GetBytes($$"""{"versions":[{{versions}}]}"""), "application/json");
        }

        if (parts is ["v3-flatcontainer", _, _, var file] && Directory.EnumerateFiles(_folder, "*.nupkg").FirstOrDefault(f => Path.GetFileName(f).Equals(file, StringComparison.OrdinalIgnoreCase)) is { } nupkg)
        {
            return (200, File.ReadAllBytes(nupkg), "application/octet-stream");
        }

        return (404, [], "text/plain");
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
