using NuGet.Configuration;
using SandboxedBuild.Errors;
using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

public sealed class NuGetSettingsReaderTests
{
    [Fact]
    public void Nested_configs_are_read_nearest_first_then_the_user_config()
    {
        using var tree = new NuGetTree();
        var repo = tree.Config("repo/NuGet.config", """<packageSources><add key="repo" value="https://repo.example.com/v3/index.json" /></packageSources>""");
        var app = tree.Config("repo/src/app/nuget.config", """<packageSources><add key="app" value="https://app.example.com/v3/index.json" /></packageSources>""");
        tree.Config(tree.UserConfig, """<packageSources><add key="user" value="https://user.example.com/v3/index.json" /></packageSources>""");

        var snapshot = tree.Read("repo/src/app");

        Assert.Equal([app, repo, tree.UserConfig], snapshot.ConfigFiles);
        Assert.Equal(["app", "repo", "user"], snapshot.Sources.Select(s => s.Name));
        Assert.Equal([app, repo, tree.UserConfig], snapshot.Sources.Select(s => s.ConfigFile));
        Assert.Equal(tree.UserConfig, snapshot.UserConfigFile);
    }

    [Fact]
    public void Only_the_first_spelling_of_the_file_name_counts_in_a_directory()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        tree.Config("p/nuget.config", """<packageSources><add key="lower" value="https://lower.example.com/" /></packageSources>""");
        tree.Config("p/NuGet.Config", """<packageSources><add key="upper" value="https://upper.example.com/" /></packageSources>""");

        Assert.Equal(["lower"], tree.Read("p").Sources.Select(s => s.Name));
    }

    [Fact]
    public void Clear_drops_the_sources_of_lower_priority_configs()
    {
        using var tree = new NuGetTree();
        tree.Config(tree.UserConfig, """<packageSources><add key="user" value="https://user.example.com/v3/index.json" /></packageSources>""");
        tree.Config("repo/NuGet.config", """<packageSources><add key="outer" value="https://outer.example.com/v3/index.json" /></packageSources>""");
        tree.Config("repo/app/NuGet.config", """
            <packageSources>
              <clear />
              <add key="only" value="https://only.example.com/v3/index.json" />
            </packageSources>
            """);

        var snapshot = tree.Read("repo/app");

        Assert.Equal(["only"], snapshot.Sources.Select(s => s.Name));
        Assert.Equal(3, snapshot.ConfigFiles.Length);
    }

    [Fact]
    public void Disabled_sources_are_left_out_wherever_they_are_disabled()
    {
        using var tree = new NuGetTree();
        tree.Config(tree.UserConfig, """<disabledPackageSources><add key="internal" value="true" /></disabledPackageSources>""");
        tree.Config("repo/NuGet.config", """
            <packageSources>
              <clear />
              <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              <add key="internal" value="https://internal.example.com/v3/index.json" />
            </packageSources>
            """);

        Assert.Equal(["nuget.org"], tree.Read("repo").Sources.Select(s => s.Name));
    }

    [Fact]
    public void A_missing_user_config_counts_as_the_default_nuget_org_one_and_is_not_created()
    {
        using var tree = new NuGetTree();
        tree.Config("repo/NuGet.config", """<packageSources><add key="repo" value="https://repo.example.com/v3/index.json" /></packageSources>""");

        var snapshot = tree.Read("repo");

        Assert.Equal(["repo", "nuget.org"], snapshot.Sources.Select(s => s.Name));
        var nugetOrg = snapshot.Sources[1];
        Assert.Equal("https://api.nuget.org/v3/index.json", nugetOrg.Url);
        Assert.Equal(tree.UserConfig, nugetOrg.ConfigFile);
        Assert.Equal(3, nugetOrg.ProtocolVersion);
        Assert.DoesNotContain(tree.UserConfig, snapshot.ConfigFiles);
        Assert.False(File.Exists(tree.UserConfig));
        Assert.False(Directory.Exists(Path.Combine(tree.Home, ".nuget")));
    }

    [Fact]
    public void The_environment_given_is_authoritative_for_the_home_directory()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();

        var snapshot = tree.Read();

        Assert.Equal(tree.UserConfig, snapshot.UserConfigFile);
        Assert.Equal(Path.Combine(tree.Home, ".nuget", "packages"), snapshot.GlobalPackagesFolder);
        Assert.Equal("NuGet default (~/.nuget/packages)", snapshot.GlobalPackagesFolderReason);
        Assert.Equal(Path.Combine(tree.Home, ".local", "share", "NuGet", "http-cache"), snapshot.HttpCacheFolder);
        Assert.Empty(snapshot.Sources);
    }

    [Fact]
    public void DOTNET_CLI_HOME_moves_the_user_config_and_the_default_folders()
    {
        using var tree = new NuGetTree();
        var cliHome = tree.Dir("cli-home");
        tree.Environment["DOTNET_CLI_HOME"] = cliHome;

        var snapshot = tree.Read();

        Assert.Equal(Path.Combine(cliHome, ".nuget", "NuGet", "NuGet.Config"), snapshot.UserConfigFile);
        Assert.Equal(Path.Combine(cliHome, ".nuget", "packages"), snapshot.GlobalPackagesFolder);
    }

    [Fact]
    public void A_relative_globalPackagesFolder_resolves_against_the_config_that_sets_it()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        var config = tree.Config("repo/NuGet.config", """<config><add key="globalPackagesFolder" value="../packages" /></config>""");
        tree.Dir("repo/src/app");

        var snapshot = tree.Read("repo/src/app");

        Assert.Equal(Path.Combine(tree.Root, "packages"), snapshot.GlobalPackagesFolder);
        Assert.Equal($"globalPackagesFolder in {config}", snapshot.GlobalPackagesFolderReason);
    }

    [Fact]
    public void NUGET_PACKAGES_wins_over_the_config()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        tree.Config("repo/NuGet.config", """<config><add key="globalPackagesFolder" value="../packages" /></config>""");
        var packages = tree.Dir("from-env");
        tree.Environment["NUGET_PACKAGES"] = packages + "/";

        var snapshot = tree.Read("repo");

        Assert.Equal(packages, snapshot.GlobalPackagesFolder);
        Assert.Equal("NUGET_PACKAGES environment variable", snapshot.GlobalPackagesFolderReason);
    }

    [Theory]
    [InlineData("NUGET_PACKAGES")]
    [InlineData("NUGET_HTTP_CACHE_PATH")]
    [InlineData("NUGET_FALLBACK_PACKAGES")]
    [InlineData("HOME")]
    public void A_relative_path_in_a_NuGet_variable_is_a_coded_error(string variable)
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        tree.Environment[variable] = "relative/dir";

        var error = Assert.Throws<SandboxException>(() => tree.Read());

        Assert.Equal("SBX3009", error.Error.Code);
        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_HTTP_cache_follows_NUGET_HTTP_CACHE_PATH_then_XDG_DATA_HOME()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        tree.Environment["XDG_DATA_HOME"] = Path.Combine(tree.Root, "xdg");
        Assert.Equal(Path.Combine(tree.Root, "xdg", "NuGet", "http-cache"), tree.Read().HttpCacheFolder);

        tree.Environment["NUGET_HTTP_CACHE_PATH"] = Path.Combine(tree.Root, "cache");
        Assert.Equal(Path.Combine(tree.Root, "cache"), tree.Read().HttpCacheFolder);
    }

    [Fact]
    public void Fallback_folders_come_from_the_configs_or_from_NUGET_FALLBACK_PACKAGES()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        tree.Config("repo/NuGet.config", """
            <fallbackPackageFolders>
              <add key="offline" value="offline-packages" />
              <add key="shared" value="/opt/shared-packages" />
            </fallbackPackageFolders>
            """);

        Assert.Equal([Path.Combine(tree.Root, "repo", "offline-packages"), "/opt/shared-packages"], tree.Read("repo").FallbackFolders.Select(f => f.Path));

        tree.Environment["NUGET_FALLBACK_PACKAGES"] = "/a;/b/";
        Assert.Equal(["/a", "/b"], tree.Read("repo").FallbackFolders.Select(f => f.Path));
    }

    [Fact]
    public void Local_sources_are_absolute_paths_that_are_not_http()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        tree.Environment["FEEDS"] = "/srv/feeds";
        tree.Config("repo/NuGet.config", """
            <packageSources>
              <add key="relative" value="./local-feed" />
              <add key="parent" value="../shared" />
              <add key="uri" value="file:///srv/packages" />
              <add key="variable" value="%FEEDS%/team" />
            </packageSources>
            """);

        var sources = tree.Read("repo").Sources;

        Assert.Equal(
            [Path.Combine(tree.Root, "repo", "local-feed"), Path.Combine(tree.Root, "shared"), "/srv/packages", "/srv/feeds/team"],
            sources.Select(s => s.Url));
        Assert.All(sources, s => Assert.False(s.IsHttp));
        Assert.All(sources, s => Assert.Null(s.Host));
        Assert.All(sources, s => Assert.Null(s.Port));
    }

    [Theory]
    [InlineData("https://Pkgs.Example.COM:8443/v3/index.json", true, "pkgs.example.com", 8443)]
    [InlineData("https://api.nuget.org/v3/index.json", true, "api.nuget.org", 443)]
    [InlineData("http://10.0.0.5/nuget", true, "10.0.0.5", 80)]
    [InlineData("http://[::1]:5000/v3/index.json", true, "::1", 5000)]
    [InlineData("/srv/feed", false, null, null)]
    [InlineData("ftp://example.com/feed", false, null, null)]
    public void A_source_knows_its_host_and_port(string url, bool isHttp, string? host, int? port)
    {
        var source = new NuGetSource("s", url, new ConfigOrigin(ConfigOriginKind.ProjectConfig, "/NuGet.config"), false);
        Assert.Equal((isHttp, host, port), (source.IsHttp, source.Host, source.Port));
    }

    [Fact]
    public void V3_sources_are_json_urls_or_protocolVersion_3()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        tree.Config("repo/NuGet.config", """
            <packageSources>
              <add key="json" value="https://a.example.com/v3/index.json" />
              <add key="artifactory" value="https://b.example.com/artifactory/api/nuget/v3/feed" protocolVersion="3" />
              <add key="v2" value="https://c.example.com/api/v2" />
            </packageSources>
            """);

        var sources = tree.Read("repo").Sources;

        Assert.Equal([true, true, false], sources.Select(s => s.IsV3ServiceIndex));
        Assert.Equal([2, 3, 2], sources.Select(s => s.ProtocolVersion));
    }

    [Fact]
    public void Credentials_are_detected_from_configs_variables_and_urls()
    {
        using var tree = new NuGetTree();
        tree.Config(tree.UserConfig, """
            <packageSources><clear /></packageSources>
            <packageSourceCredentials>
              <My_x0020_Feed>
                <add key="Username" value="me" />
                <add key="ClearTextPassword" value="%FEED_TOKEN%" />
              </My_x0020_Feed>
            </packageSourceCredentials>
            """);
        tree.Config("repo/NuGet.config", """
            <packageSources>
              <add key="My Feed" value="https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json" />
              <add key="from-variable" value="https://b.example.com/v3/index.json" />
              <add key="from-endpoints" value="https://c.example.com/v3/index.json" />
              <add key="in-url" value="https://user:token@d.example.com/v3/index.json" />
              <add key="public" value="https://api.nuget.org/v3/index.json" />
            </packageSources>
            """);
        tree.Environment["NuGetPackageSourceCredentials_from-variable"] = "Username=ci;Password=secret";
        tree.Environment["VSS_NUGET_EXTERNAL_FEED_ENDPOINTS"] =
            """{"endpointCredentials":[{"endpoint":"https://c.example.com/v3/index.json","username":"x","password":"y"}]}""";

        var sources = tree.Read("repo").Sources;

        Assert.Equal(
            [("My Feed", true), ("from-variable", true), ("from-endpoints", true), ("in-url", true), ("public", false)],
            sources.Select(s => (s.Name, s.HasCredentials)));
    }

    [Fact]
    public void Additional_user_configs_and_machine_wide_configs_come_last()
    {
        using var tree = new NuGetTree();
        tree.Config(tree.UserConfig, string.Empty); // a <clear/> here would drop what follows
        var extra = tree.Config(Path.Combine(tree.Home, ".nuget", "NuGet", "config", "team.config"), """<packageSources><add key="team" value="https://team.example.com/v3/index.json" /></packageSources>""");
        var machine = tree.Config(Path.Combine(tree.Machine, "NuGet", "Config", "vendor.Config"), """<packageSources><add key="vendor" value="https://vendor.example.com/v3/index.json" /></packageSources>""");
        var project = tree.Config("repo/NuGet.config", """<packageSources><add key="repo" value="https://repo.example.com/v3/index.json" /></packageSources>""");

        var snapshot = tree.Read("repo");

        Assert.Equal([project, tree.UserConfig, extra, machine], snapshot.ConfigFiles);
        Assert.Equal(["repo", "team", "vendor"], snapshot.Sources.Select(s => s.Name));
    }

    [Fact]
    public void NuGetDefaults_sources_come_before_machine_wide_ones_and_survive_clear()
    {
        using var tree = new NuGetTree();
        tree.Config(tree.UserConfig, string.Empty); // a <clear/> here would drop what follows
        var defaults = tree.Config(Path.Combine(tree.Machine, "NuGet", "NuGetDefaults.config"), """<packageSources><add key="company" value="https://company.example.com/v3/index.json" /></packageSources>""");
        tree.Config(Path.Combine(tree.Machine, "NuGet", "Config", "vendor.config"), """<packageSources><add key="vendor" value="https://vendor.example.com/v3/index.json" /></packageSources>""");
        tree.Config("repo/NuGet.config", """<packageSources><add key="repo" value="https://repo.example.com/v3/index.json" /></packageSources>""");

        var snapshot = tree.Read("repo");

        Assert.Equal(["repo", "company", "vendor"], snapshot.Sources.Select(s => s.Name));
        Assert.Equal(defaults, snapshot.Sources[1].ConfigFile);
        Assert.Equal(defaults, snapshot.ConfigFiles[^1]);

        tree.Config("repo/cleared/NuGet.config", "<packageSources><clear /></packageSources>");
        Assert.Equal(["company"], tree.Read("repo/cleared").Sources.Select(s => s.Name));
    }

    [Fact]
    public void Audit_sources_are_read_like_package_sources()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        tree.Config("repo/NuGet.config", """
            <auditSources>
              <clear />
              <add key="audit" value="https://audit.example.com/v3/index.json" />
            </auditSources>
            """);

        var snapshot = tree.Read("repo");

        Assert.Equal(["audit"], snapshot.AuditSources.Select(s => s.Name));
        Assert.Empty(snapshot.Sources);
    }

    [Fact]
    public void A_malformed_config_is_a_coded_error_that_names_the_file()
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        var bad = Path.Combine(tree.Dir("repo"), "NuGet.config");
        File.WriteAllText(bad, "<configuration><packageSources>");

        var error = Assert.Throws<SandboxException>(() => tree.Read("repo"));

        Assert.Equal("SBX3008", error.Error.Code);
        Assert.Contains(bad, error.Message, StringComparison.Ordinal);
    }

    /// <summary>The source list is computed here rather than by NuGet; on the same files it must agree with NuGet's own.</summary>
    [Fact]
    public void Sources_agree_with_NuGets_PackageSourceProvider()
    {
        using var tree = new NuGetTree();
        tree.Config(tree.UserConfig, """
            <packageSources>
              <add key="user" value="https://user.example.com/v3/index.json" />
              <add key="Shared" value="https://shared-from-user.example.com/v3/index.json" />
              <add key="off" value="https://off.example.com/v3/index.json" />
            </packageSources>
            <disabledPackageSources>
              <add key="off" value="true" />
              <add key="also-off" value="false" />
            </disabledPackageSources>
            """);
        tree.Config("repo/NuGet.config", """
            <packageSources>
              <add key="repo" value="https://repo.example.com/v3/index.json" />
              <add key="also-off" value="https://also-off.example.com/v3/index.json" />
              <add key="local" value="../feed" />
            </packageSources>
            """);
        tree.Config("repo/app/NuGet.config", """
            <packageSources>
              <add key="shared" value="https://shared-from-app.example.com/v3/index.json" protocolVersion="3" />
              <add key="app" value="https://app.example.com/v3/index.json" />
            </packageSources>
            """);

        var snapshot = tree.Read("repo/app");
        using var context = new SettingsLoadingContext();
        var settings = Settings.LoadImmutableSettingsGivenConfigPaths([.. snapshot.ConfigFiles], context);
        var expected = new PackageSourceProvider(settings, configurationDefaultSources: [])
            .LoadPackageSources()
            .Where(s => s.IsEnabled)
            .Select(s => (s.Name, s.Source));

        Assert.Equal(expected, snapshot.Sources.Select(s => (s.Name, s.Url)));
        Assert.DoesNotContain("also-off", snapshot.Sources.Select(s => s.Name));
    }

    [Theory]
    [InlineData("fifo")]
    [InlineData("/dev/zero")]
    public async Task A_repository_config_a_sandbox_replaced_by_a_fifo_or_device_is_SBX3018_not_a_hang(string plant)
    {
        using var tree = new NuGetTree();
        tree.EmptyUserConfig();
        var config = Path.Combine(tree.Dir("repo"), "NuGet.config");
        if (plant == "fifo")
        {
            using var mkfifo = System.Diagnostics.Process.Start("mkfifo", config)!;
            await mkfifo.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
        else
        {
            File.CreateSymbolicLink(config, plant);
        }

        var read = Task.Run(() => tree.Read("repo"), TestContext.Current.CancellationToken);
        var finished = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        Assert.Same(read, finished);
        var e = await Assert.ThrowsAsync<SandboxException>(() => read);
        Assert.Equal("SBX3018", e.Error.Code);

        // The same directory with a real file reads.
        File.Delete(config);
        tree.Config("repo/NuGet.config", """<packageSources><add key="repo" value="https://repo.example.com/v3/index.json" /></packageSources>""");
        Assert.Equal(["repo"], tree.Read("repo").Sources.Select(s => s.Name));
    }
}
