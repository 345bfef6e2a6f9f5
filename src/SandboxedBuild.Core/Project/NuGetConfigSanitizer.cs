using System.Text;
using System.Xml;
using System.Xml.Linq;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Project;

/// <summary>
/// Removes credentials from a NuGet.Config so that a copy can be shown to a sandboxed command.
/// </summary>
/// <remarks>
/// Removed: every <c>&lt;packageSourceCredentials&gt;</c> and <c>&lt;apikeys&gt;</c> section; in
/// <c>&lt;config&gt;</c>, entries whose key names a secret or a proxy identity (<c>http_proxy.user</c>,
/// <c>http_proxy.password</c>, keys with password, token, secret, apikey, credential); the
/// <c>password</c> and <c>clearTextPassword</c> attributes of client certificates; and the user-info
/// part (<c>user:token@</c>) of any URL value. Everything else — sources, mapping, trusted signers,
/// comments, attribute order, whitespace — is kept as written.
/// </remarks>
public static class NuGetConfigSanitizer
{
    private static readonly string[] SecretKeyParts = ["password", "passwd", "token", "secret", "apikey", "api_key", "credential"];

    /// <summary>Returns <paramref name="xml"/> without its credentials.</summary>
    /// <param name="xml">The text of a NuGet.Config.</param>
    /// <param name="sourcesWithCredentials">
    /// The sources whose credentials were removed, by name as NuGet reads it (element names decoded, so
    /// <c>My_x0020_Feed</c> is <c>My Feed</c>), in document order, without duplicates.
    /// </param>
    /// <exception cref="SandboxException">SBX3008 when the text is not well-formed XML (a DTD is refused too).</exception>
    public static string Sanitize(string xml, out IReadOnlyList<string> sourcesWithCredentials)
    {
        ArgumentNullException.ThrowIfNull(xml);
        XDocument document;
        try
        {
            // No DTD: nothing in a NuGet.Config needs one, and entities could pull in other files.
            using var reader = XmlReader.Create(new StringReader(xml), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            document = XDocument.Load(reader, LoadOptions.PreserveWhitespace);
        }
        catch (XmlException e)
        {
            throw new SandboxException(Errors.Errors.NuGetConfigUnreadable, e.Message);
        }

        var sources = new List<string>();
        var root = document.Root;
        if (root is not null)
        {
            // Anywhere, not only where NuGet reads them: a misplaced section still holds a secret.
            foreach (var section in root.DescendantsAndSelf().Where(e => Is(e, "packageSourceCredentials")).ToList())
            {
                sources.AddRange(section.Elements().Where(e => !Is(e, "clear")).Select(e => XmlConvert.DecodeName(e.Name.LocalName)));
                Remove(section);
            }

            foreach (var section in root.DescendantsAndSelf().Where(e => Is(e, "apikeys")).ToList())
            {
                Remove(section);
            }

            foreach (var entry in root.Elements().Where(e => Is(e, "config")).SelectMany(e => e.Elements()).Where(IsSecretConfigEntry).ToList())
            {
                Remove(entry);
            }

            foreach (var certificate in root.Elements().Where(e => Is(e, "clientCertificates")).SelectMany(e => e.Elements()))
            {
                certificate.Attributes().Where(a => Is(a, "password") || Is(a, "clearTextPassword")).Remove();
            }

            foreach (var value in root.Descendants().Attributes().Where(a => Is(a, "value")))
            {
                if (WithoutUserInfo(value.Value) is { } stripped)
                {
                    value.Value = stripped;
                    if (value.Parent is { } add && add.Parent is { } section && Is(section, "packageSources") && add.Attribute("key")?.Value is { } key)
                    {
                        sources.Add(key);
                    }
                }
            }
        }

        sourcesWithCredentials = sources.Distinct(StringComparer.Ordinal).ToList();
        var text = Render(document);

        // The parser turned every line ending into '\n' (XML's rule); give a CRLF file its own back.
        return xml.Contains("\r\n", StringComparison.Ordinal) ? text.Replace("\n", "\r\n", StringComparison.Ordinal) : text;
    }

    private static bool Is(XElement element, string name) => string.Equals(element.Name.LocalName, name, StringComparison.OrdinalIgnoreCase);

    private static bool Is(XAttribute attribute, string name) => string.Equals(attribute.Name.LocalName, name, StringComparison.OrdinalIgnoreCase);

    private static bool IsSecretConfigEntry(XElement entry)
    {
        var key = entry.Attribute("key")?.Value;
        if (key is null)
        {
            return false;
        }

        return key.Equals("http_proxy.user", StringComparison.OrdinalIgnoreCase)
            || SecretKeyParts.Any(part => key.Contains(part, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The URL without its <c>user:password@</c> part, or <see langword="null"/> when it has none (or is no URL).</summary>
    private static string? WithoutUserInfo(string value)
    {
        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || uri.IsFile || uri.UserInfo.Length == 0)
        {
            return null;
        }

        // Cut the text rather than rebuild the URI, which would re-escape the rest of it. The user info
        // ends at the last '@' of the authority, which ends at the first '/', '?' or '#'.
        var start = value.IndexOf("://", StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += 3;
        var end = value.IndexOfAny(['/', '?', '#'], start);
        var at = value.LastIndexOf('@', (end < 0 ? value.Length : end) - 1, (end < 0 ? value.Length : end) - start);
        return at < 0 ? null : value[..start] + value[(at + 1)..];
    }

    /// <summary>Removes an element with the whitespace that indented it, so no blank line is left.</summary>
    private static void Remove(XElement element)
    {
        if (element.PreviousNode is XText text && string.IsNullOrWhiteSpace(text.Value))
        {
            text.Remove();
        }

        element.Remove();
    }

    /// <summary>Writes the document back with its own declaration (an <see cref="XmlWriter"/> would claim the string's UTF-16).</summary>
    private static string Render(XDocument document)
    {
        // The whitespace between the top-level nodes is kept as text nodes, so nothing is added between them.
        var text = new StringBuilder();
        if (document.Declaration is { } declaration)
        {
            text.Append(declaration);
        }

        foreach (var node in document.Nodes())
        {
            text.Append(node.ToString(SaveOptions.DisableFormatting));
        }

        return text.ToString();
    }
}
