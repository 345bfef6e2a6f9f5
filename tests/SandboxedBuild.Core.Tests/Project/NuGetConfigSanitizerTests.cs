using System.Xml.Linq;
using SandboxedBuild.Errors;
using SandboxedBuild.Project;

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
    public void Everything_else_keeps_its_meaning()
    {
        var clean = XDocument.Parse(NuGetConfigSanitizer.Sanitize(WithSecrets, out _));
        var original = XDocument.Parse(WithSecrets);

        // What remains is the original with exactly the secrets taken out.
        var root = original.Root!;
        root.Element("packageSourceCredentials")!.Remove();
        root.Element("apikeys")!.Remove();
        root.Element("config")!.Elements().Where(e => ((string)e.Attribute("key")!).StartsWith("http_proxy.", StringComparison.Ordinal)).Remove();
        root.Element("config")!.Elements().Single(e => (string)e.Attribute("key")! == "http_proxy").SetAttributeValue("value", "http://proxy.corp:3128");
        root.Element("packageSources")!.Elements().Single(e => (string?)e.Attribute("key") == "github").SetAttributeValue("value", "https://nuget.pkg.github.com/owner/index.json");
        root.Element("clientCertificates")!.Element("fileCert")!.Attribute("clearTextPassword")!.Remove();

        Assert.True(XNode.DeepEquals(Normalize(original), Normalize(clean)), clean.ToString());
        Assert.Equal("Team feeds.", clean.Nodes().OfType<XComment>().Single().Value.Trim());
    }

    [Fact]
    public void The_declaration_and_the_untouched_text_are_kept_as_written()
    {
        var clean = NuGetConfigSanitizer.Sanitize(WithSecrets, out _);

        Assert.StartsWith("""<?xml version="1.0" encoding="utf-8"?>""" + "\n<!-- Team feeds. -->\n<configuration>\n  <config>\n", clean, StringComparison.Ordinal);
        Assert.Contains(
            "  <packageSourceMapping>\n    <packageSource key=\"nuget.org\">\n      <package pattern=\"*\" />\n    </packageSource>\n  </packageSourceMapping>\n</configuration>",
            clean,
            StringComparison.Ordinal);
        Assert.DoesNotContain("\n\n", clean, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_without_secrets_comes_back_unchanged()
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

        Assert.Equal(plain, NuGetConfigSanitizer.Sanitize(plain, out var sources));
        Assert.Empty(sources);
        Assert.Equal(plain.Replace("\n", "\r\n", StringComparison.Ordinal), NuGetConfigSanitizer.Sanitize(plain.Replace("\n", "\r\n", StringComparison.Ordinal), out _));
    }

    [Theory]
    [InlineData("<configuration><packageSources>")]
    [InlineData("not xml")]
    [InlineData("""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><configuration>&e;</configuration>""")]
    public void Text_that_is_not_a_well_formed_document_is_a_coded_error(string xml)
    {
        var error = Assert.Throws<SandboxException>(() => NuGetConfigSanitizer.Sanitize(xml, out _));
        Assert.Equal("SBX3008", error.Error.Code);
    }

    /// <summary>Compares elements and attributes, not the whitespace between them.</summary>
    private static XElement Normalize(XDocument document) =>
        XElement.Parse(document.Root!.ToString(SaveOptions.DisableFormatting), LoadOptions.None);
}
