namespace SandboxedBuild.IntegrationTests.Infrastructure;

/// <summary>Copies sample projects into a workspace, and tells whether the real NuGet feed is reachable.</summary>
public static class Assets
{
    private static readonly Lazy<string?> FeedUnreachable = new(() =>
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        try
        {
            using var response = http.GetAsync("https://api.nuget.org/v3/index.json").GetAwaiter().GetResult();
            return response.IsSuccessStatusCode ? null : $"api.nuget.org answered {(int)response.StatusCode}";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return "api.nuget.org is unreachable from this machine: " + ex.Message;
        }
    });

    /// <summary>Skips, with the reason, when the tests cannot restore packages from nuget.org.</summary>
    public static void SkipIfFeedUnreachable()
    {
        if (FeedUnreachable.Value is { } why)
        {
            Assert.Skip(why);
        }
    }

    /// <summary>
    /// Copies testassets/<paramref name="name"/> (and the samples' isolating Directory.Build.* files)
    /// into the workspace's project directory and makes it a git repository, as a checkout would be.
    /// </summary>
    public static void CopyInto(Workspace ws, string name)
    {
        Copy(Path.Combine(Cli.TestAssets, name), ws.Project);
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            var target = Path.Combine(ws.Project, file);
            if (!File.Exists(target))
            {
                File.Copy(Path.Combine(Cli.TestAssets, file), target);
            }
        }

        var init = Cli.Exec("git", "init", "-q", ws.Project);
        Assert.True(init.ExitCode == 0, init.ToString());
        ws.FixOwnership();
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.EnumerateDirectories(from))
        {
            var name = Path.GetFileName(dir);
            if (name is not ("bin" or "obj" or "artifacts" or "TestResults"))
            {
                Copy(dir, Path.Combine(to, name));
            }
        }

        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        }
    }

    /// <summary>
    /// Every file below <paramref name="dir"/> except in the named directories, relative. Links are
    /// listed, never entered: a test may plant one that loops (<c>h -> ..</c>).
    /// </summary>
    public static SortedSet<string> Files(string dir, params string[] except)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(dir);
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            foreach (var entry in new DirectoryInfo(current).EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true }))
            {
                var rel = Path.GetRelativePath(dir, entry.FullName);
                if (except.Any(e => rel == e || rel.StartsWith(e + "/", StringComparison.Ordinal)))
                {
                    continue;
                }

                if (entry is DirectoryInfo && entry.LinkTarget is null)
                {
                    pending.Push(entry.FullName);
                }
                else
                {
                    set.Add(rel);
                }
            }
        }

        return set;
    }
}
