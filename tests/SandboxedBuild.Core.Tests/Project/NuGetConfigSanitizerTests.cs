using System.Xml.Linq;
using SandboxedBuild.Errors;
using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

public sealed class NuGetConfigSanitizerTests
{
    private const string WithSecrets = """
        <?xml version="1.0" encoding="utf-8"?>
        <!-- Team feeds. -->
        <configuration>
          <config>
            <add key="globalPackagesFolder" value="../packages" />
            <add key="http_proxy" value="http://proxyuser:proxypass@proxy.corp:3128" />
            <add key="http_proxy.user" value="CORP\me" />
            <add key="http_proxy.password" value="AQAAANCMnd8BFdERjHoAwE" />
            <add key="no_proxy" value="localhost" />
          </config>
          <packageSources>
            <clear />
            <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
            <add key="Contoso Feed" value="https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json" />
            <add key="github" value="https://ghuser:ghp_SECRET@nuget.pkg.github.com/owner/index.json" />
          </packageSources>
          <packageSourceCredentials>
            <Contoso_x0020_Feed>
              <add key="Username" value="me@contoso.com" />
              <add key="ClearTextPassword" value="PAT_SECRET" />
            </Contoso_x0020_Feed>
            <internal>
              <add key="Username" value="ci" />
              <add key="Password" value="ENCRYPTED_SECRET" />
            </internal>
          </packageSourceCredentials>
          <apikeys>
            <add key="https://www.nuget.org/api/v2/package" value="APIKEY_SECRET" />
          </apikeys>
          <clientCertificates>
            <fileCert packageSource="internal" path="./cert.pfx" clearTextPassword="CERT_SECRET" />
          </clientCertificates>
          <packageSourceMapping>
            <packageSource key="nuget.org">
              <package pattern="*" />
            </packageSource>
          </packageSourceMapping>
        </configuration>
        """;

    [Fact]
    public void Every_secret_is_removed()
    {
        var clean = NuGetConfigSanitizer.Sanitize(WithSecrets, out _);

        foreach (var secret in new[] { "proxypass", "proxyuser", "CORP", "AQAAANCMnd8BFdERjHoAwE", "ghp_SECRET", "ghuser", "PAT_SECRET", "me@contoso.com", "ENCRYPTED_SECRET", "APIKEY_SECRET", "CERT_SECRET" })
        {
            Assert.DoesNotContain(secret, clean, StringComparison.Ordinal);
        }

        var root = XDocument.Parse(clean).Root!;
        Assert.Null(root.Element("packageSourceCredentials"));
        Assert.Null(root.Element("apikeys"));
    }

    [Fact]
    public void The_sources_whose_credentials_were_removed_are_reported_by_name()
    {
        NuGetConfigSanitizer.Sanitize(WithSecrets, out var sources);

        Assert.Equal(["Contoso Feed", "internal", "github"], sources);
    }

    [Fact]
    public void What_is_safe_is_carried_over_with_its_meaning()
    {
        var clean = XDocument.Parse(NuGetConfigSanitizer.Sanitize(WithSecrets, out _)).Root!;

        var sources = clean.Element("packageSources")!.Elements().ToList();
        Assert.Equal("clear", sources[0].Name.LocalName);
        Assert.Equal(
            [("nuget.org", "https://api.nuget.org/v3/index.json", "3"), ("Contoso Feed", "https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json", null), ("github", "https://nuget.pkg.github.com/owner/index.json", null)],
            sources.Skip(1).Select(e => ((string)e.Attribute("key")!, (string)e.Attribute("value")!, (string?)e.Attribute("protocolVersion"))));
        Assert.Equal([("globalPackagesFolder", "../packages")], clean.Element("config")!.Elements().Select(e => ((string)e.Attribute("key")!, (string)e.Attribute("value")!)));
        Assert.Equal("*", (string)clean.Element("packageSourceMapping")!.Element("packageSource")!.Element("package")!.Attribute("pattern")!);
        Assert.Null(clean.Element("clientCertificates"));
    }

    [Fact]
    public void The_copy_is_a_new_document_without_comments()
    {
        const string commented = """
            <?xml version="1.0" encoding="utf-8"?>
            <!-- old token: ghp_COMMENTSECRET -->
            <configuration>
              <packageSources>
                <!-- <add key="old" value="https://me:hunter2@feed.example.com/index.json" /> password=hunter2 -->
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <?secret hunter3?>
            </configuration>
            """;

        var clean = NuGetConfigSanitizer.Sanitize(commented, out _);

        Assert.DoesNotContain("COMMENTSECRET", clean, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter", clean, StringComparison.Ordinal);
        Assert.DoesNotContain("<!--", clean, StringComparison.Ordinal);
        Assert.Contains("""<add key="nuget.org" value="https://api.nuget.org/v3/index.json" />""", clean, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sas_query_and_user_info_are_cut_from_a_source_url()
    {
        const string sas = """
            <configuration>
              <packageSources>
                <add key="blob" value="https://store.blob.core.windows.net/feed/index.json?sv=2022-11-02&amp;sig=SASSIGNATURE%3D&amp;se=2030" />
                <add key="frag" value="https://feed.example.com/v3/index.json#token=FRAGSECRET" />
                <add key="both" value="https://u:USERSECRET@feed.example.net:8443/v3/index.json?access_token=QUERYSECRET" />
              </packageSources>
            </configuration>
            """;

        var clean = NuGetConfigSanitizer.Sanitize(sas, out var withCredentials);

        foreach (var secret in new[] { "sig=", "SASSIGNATURE", "FRAGSECRET", "USERSECRET", "QUERYSECRET", "?" + "sv" })
        {
            Assert.DoesNotContain(secret, clean, StringComparison.Ordinal);
        }

        Assert.Equal(
            ["https://store.blob.core.windows.net/feed/index.json", "https://feed.example.com/v3/index.json", "https://feed.example.net:8443/v3/index.json"],
            XDocument.Parse(clean).Root!.Element("packageSources")!.Elements().Select(e => (string)e.Attribute("value")!));
        Assert.Equal(["blob", "frag", "both"], withCredentials);
    }

    [Theory]
    [InlineData("https://www.myget.org/F/team/auth/3e4f2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9/api/v3/index.json", "3e4f2a1b", "/auth/")]
    [InlineData("https://feed.example.com/0123456789abcdef0123456789abcdef01234567/index.json", "0123456789abcdef", "hex")]
    [InlineData("https://feed.example.com/nuget/ghp_16C7e42F292c6912E7710c838347Ae178B4a/v3/index.json", "16C7e42F", "token")]
    [InlineData("https://feed.example.com/apikey/short/v3/index.json", "short", "/apikey/")]
    [InlineData("ftp://u:FTPSECRET@feed.example.com/packages", "FTPSECRET", "scheme")]
    public void A_source_whose_url_path_holds_a_key_is_left_out_with_a_coded_warning(string url, string secret, string why)
    {
        var xml = $"""
            <configuration>
              <packageSources>
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                <add key="keyed" value="{url}" />
              </packageSources>
            </configuration>
            """;
        var warnings = new List<Diagnostic>();

        var clean = NuGetConfigSanitizer.Sanitize(xml, out _, warnings);

        Assert.DoesNotContain("keyed", clean, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, clean, StringComparison.Ordinal);
        Assert.DoesNotContain("feed.example.com", clean, StringComparison.Ordinal);
        Assert.DoesNotContain("myget", clean, StringComparison.Ordinal);
        var warning = Assert.Single(warnings);
        Assert.StartsWith("warning SBX3020: package source 'keyed' is left out", warning.ToString(), StringComparison.Ordinal);
        Assert.Contains(why, warning.ToString(), StringComparison.Ordinal);
        Assert.Contains("nuget.org", clean, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://pkgs.dev.azure.com/contoso/6a8c1d2e-3f4b-4c5d-8e9f-0a1b2c3d4e5f/_packaging/feed/nuget/v3/index.json")]
    [InlineData("https://nuget.pkg.github.com/my-company-internal-packages-2024/index.json")]
    [InlineData("https://myget.org/F/team/api/v3/index.json")]
    public void Ordinary_feed_urls_are_carried_over(string url)
    {
        var warnings = new List<Diagnostic>();
        var clean = NuGetConfigSanitizer.Sanitize($"""<configuration><packageSources><add key="feed" value="{url}" /></packageSources></configuration>""", out _, warnings);

        Assert.Empty(warnings);
        Assert.Equal(url, (string)XDocument.Parse(clean).Root!.Element("packageSources")!.Element("add")!.Attribute("value")!);
    }

    [Fact]
    public void Unknown_keys_sections_and_attributes_are_dropped()
    {
        const string xml = """
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="/home/dev/pkgs" />
                <add key="myCompanyFeedKey" value="UNKNOWNSECRET1" />
                <add key="defaultPushSource" value="https://push.example.com/?key=UNKNOWNSECRET2" />
                <add key="repositoryPath" value="https://u:UNKNOWNSECRET3@x.example.com/" />
                <add key="dependencyVersion" value="Highest" />
              </config>
              <packageSources>
                <add key="feed" value="https://feed.example.com/v3/index.json" token="UNKNOWNSECRET4" />
              </packageSources>
              <teamSettings><add key="x" value="UNKNOWNSECRET5" /></teamSettings>
            </configuration>
            """;

        var clean = NuGetConfigSanitizer.Sanitize(xml, out _);

        Assert.DoesNotContain("UNKNOWNSECRET", clean, StringComparison.Ordinal);
        Assert.DoesNotContain("teamSettings", clean, StringComparison.Ordinal);
        Assert.Equal(
            [("globalPackagesFolder", "/home/dev/pkgs"), ("dependencyVersion", "Highest")],
            XDocument.Parse(clean).Root!.Element("config")!.Elements().Select(e => ((string)e.Attribute("key")!, (string)e.Attribute("value")!)));
    }

    [Fact]
    public void A_plain_config_keeps_its_sources_and_its_line_endings()
    {
        const string plain = """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """;

        var clean = NuGetConfigSanitizer.Sanitize(plain, out var sources);
        Assert.True(XNode.DeepEquals(XElement.Parse(plain.Split('\n', 2)[1]), XElement.Parse(clean.Split('\n', 2)[1])), clean);
        Assert.Empty(sources);
        Assert.Contains("\r\n", NuGetConfigSanitizer.Sanitize(plain.Replace("\n", "\r\n", StringComparison.Ordinal), out _), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<configuration><packageSources>")]
    [InlineData("not xml")]
    [InlineData("<settings />")]
    [InlineData("""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><configuration>&e;</configuration>""")]
    [InlineData("""<!DOCTYPE configuration [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><configuration><packageSources><add key="x" value="&b;" /></packageSources></configuration>""")]
    public void Text_that_is_not_a_well_formed_document_is_a_coded_error(string xml)
    {
        var error = Assert.Throws<SandboxException>(() => NuGetConfigSanitizer.Sanitize(xml, out _, null, "/home/dev/.nuget/NuGet/NuGet.Config"));
        Assert.Equal("SBX3021", error.Error.Code);
        Assert.Contains("/home/dev/.nuget/NuGet/NuGet.Config", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("passwd", error.Message.Replace("file:///etc/passwd", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    /// <summary>Compares elements and attributes, not the whitespace between them.</summary>
    private static XElement Normalize(XDocument document) =>
        XElement.Parse(document.Root!.ToString(SaveOptions.DisableFormatting), LoadOptions.None);
}
