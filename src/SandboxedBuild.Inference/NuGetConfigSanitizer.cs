using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Inference;

/// <summary>
/// Makes the credential-free NuGet.Config a sandboxed restore sees in place of the user's own.
/// </summary>
/// <remarks>
/// <para>
/// The result is a new document written from what was parsed, never the original text filtered: only
/// what is known to be safe is carried over, and everything else (comments, unknown sections and keys,
/// attributes not listed here) is left behind.
/// </para>
/// <list type="bullet">
/// <item><c>&lt;packageSources&gt;</c> and <c>&lt;auditSources&gt;</c>: <c>&lt;clear/&gt;</c> and
/// <c>&lt;add key value protocolVersion/&gt;</c>. An http(s) URL loses its user info (<c>user:token@</c>),
/// query (a SAS <c>?sig=</c>) and fragment; a URL whose path holds something that looks like a key
/// (a segment after <c>/auth/</c>, <c>/token/</c>, <c>/apikey/</c>…, 32 or more hex digits, a long
/// mixed-case token) is left out with a coded SBX3020 warning, as is a URL of another scheme.</item>
/// <item><c>&lt;disabledPackageSources&gt;</c>: key and <c>true</c>/<c>false</c>.</item>
/// <item><c>&lt;config&gt;</c>: <c>globalPackagesFolder</c>, <c>repositoryPath</c> (folders, not URLs),
/// <c>dependencyVersion</c>, <c>signatureValidationMode</c>, <c>maxHttpRequestsPerSource</c> with a
/// value of their kind. Not the proxy keys, <c>defaultPushSource</c> or any other.</item>
/// <item><c>&lt;fallbackPackageFolders&gt;</c>: key and folder.</item>
/// <item><c>&lt;packageSourceMapping&gt;</c>: source names and package patterns.</item>
/// <item><c>&lt;trustedSigners&gt;</c>: authors and repositories with their certificate fingerprints and owners.</item>
/// </list>
/// <para>
/// Never carried: <c>&lt;packageSourceCredentials&gt;</c>, <c>&lt;apikeys&gt;</c>, <c>&lt;clientCertificates&gt;</c>,
/// comments, processing instructions. The text is parsed without a DTD and without a resolver.
/// </para>
/// </remarks>
public static partial class NuGetConfigSanitizer
{
    /// <summary>Path segments after which the next segment is a key (MyGet's <c>/F/feed/auth/KEY/api/v3/index.json</c>).</summary>
    private static readonly HashSet<string> KeyMarkers = new(StringComparer.OrdinalIgnoreCase)
    {
        "auth", "token", "tokens", "key", "keys", "apikey", "api-key", "api_key", "secret", "password", "pat", "access_token", "sig", "sas",
    };

    /// <summary>Returns the credential-free NuGet.Config for <paramref name="xml"/>.</summary>
    /// <param name="xml">The text of the user's NuGet.Config.</param>
    /// <param name="sourcesWithCredentials">
    /// The sources whose credentials were removed, by name as NuGet reads it (element names decoded, so
    /// <c>My_x0020_Feed</c> is <c>My Feed</c>), in document order, without duplicates.
    /// </param>
    /// <param name="warnings">Receives a coded SBX3020 warning for each source left out.</param>
    /// <param name="path">The file the text was read from, for messages.</param>
    /// <exception cref="SandboxException">SBX3021 when the text is not a well-formed NuGet.Config (a DTD is refused too).</exception>
    public static string Sanitize(string xml, out IReadOnlyList<string> sourcesWithCredentials, ICollection<Diagnostic>? warnings = null, string path = "NuGet.Config")
    {
        ArgumentNullException.ThrowIfNull(xml);
        XElement root;
        try
        {
            // No DTD: nothing in a NuGet.Config needs one, and entities could pull in other files.
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true, IgnoreProcessingInstructions = true };
            using var reader = XmlReader.Create(new StringReader(xml), settings);
            root = XDocument.Load(reader).Root ?? throw new XmlException("the document has no root element");
        }
        catch (XmlException e)
        {
            throw new SandboxException(Errors.Errors.UserNuGetConfigInvalid, path, e.Message);
        }

        if (!Is(root, "configuration"))
        {
            throw new SandboxException(Errors.Errors.UserNuGetConfigInvalid, path, $"the root element is <{root.Name.LocalName}>, not <configuration>");
        }

        var credentials = new List<string>();
        foreach (var section in root.Descendants().Where(e => Is(e, "packageSourceCredentials")))
        {
            credentials.AddRange(section.Elements().Where(e => !Is(e, "clear")).Select(e => XmlConvert.DecodeName(e.Name.LocalName)));
        }

        var clean = new XElement("configuration");
        Add(clean, "config", Sections(root, "config").Select(Config));
        foreach (var name in new[] { "packageSources", "auditSources" })
        {
            Add(clean, name, Sections(root, name).Select(item => Source(item, credentials, warnings)));
        }

        Add(clean, "disabledPackageSources", Sections(root, "disabledPackageSources").Select(item =>
            IsAdd(item) && Attr(item, "key") is { } key && Attr(item, "value") is { } value && bool.TryParse(value, out _)
                ? new XElement("add", new XAttribute("key", key), new XAttribute("value", value.Trim().ToLowerInvariant()))
                : null));
        Add(clean, "fallbackPackageFolders", Sections(root, "fallbackPackageFolders").Select(item =>
            IsAdd(item) && Attr(item, "key") is { } key && Attr(item, "value") is { } value && IsFolder(value)
                ? new XElement("add", new XAttribute("key", key), new XAttribute("value", value))
                : null));
        Add(clean, "packageSourceMapping", Sections(root, "packageSourceMapping").Select(Mapping));
        Add(clean, "trustedSigners", Sections(root, "trustedSigners").Select(Signer));

        sourcesWithCredentials = credentials.Distinct(StringComparer.Ordinal).ToList();
        var text = new StringBuilder("""<?xml version="1.0" encoding="utf-8"?>""").Append('\n').Append(clean.ToString()).Append('\n').ToString();
        return xml.Contains("\r\n", StringComparison.Ordinal) ? text.Replace("\n", "\r\n", StringComparison.Ordinal) : text;
    }

    /// <summary>
    /// Why the path of an http(s) source URL looks like it holds a key, or <see langword="null"/>.
    /// </summary>
    internal static string? SecretInPath(Uri uri)
    {
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToList();
        for (var i = 0; i < segments.Count; i++)
        {
            if (i > 0 && KeyMarkers.Contains(segments[i - 1]))
            {
                return $"its URL holds a key in the path (the segment after '/{segments[i - 1]}/')";
            }

            if (HexKey().IsMatch(segments[i]))
            {
                return "its URL holds a path segment that looks like a key (32 or more hex digits)";
            }

            if (segments[i].Split(['-', '_', '.', '~'], StringSplitOptions.RemoveEmptyEntries).Any(LooksLikeToken))
            {
                return "its URL holds a path segment that looks like a token (a long run of mixed letters and digits)";
            }
        }

        return null;
    }

    /// <summary>A base64 or base32 token: 20 or more characters with upper, lower case and digits, or 32 or more with letters and digits.</summary>
    private static bool LooksLikeToken(string word)
    {
        if (word.Length < 20 || !word.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '='))
        {
            return false;
        }

        var digits = word.Any(char.IsAsciiDigit);
        var upper = word.Any(char.IsAsciiLetterUpper);
        var lower = word.Any(char.IsAsciiLetterLower);
        return digits && ((upper && lower) || (word.Length >= 32 && (upper || lower)));
    }

    private static XElement? Source(XElement item, List<string> credentials, ICollection<Diagnostic>? warnings)
    {
        if (Is(item, "clear"))
        {
            return new XElement("clear");
        }

        if (!IsAdd(item) || Attr(item, "key") is not { Length: > 0 } key || Attr(item, "value") is not { } value)
        {
            return null;
        }

        string? problem = null;
        var trimmed = value.Trim();
        if (Uri.TryCreate(trimmed, UriKind.Absolute, out var uri) && !uri.IsFile && !IsFolder(trimmed))
        {
            if (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            {
                problem = $"its URL is not an http(s) URL or a folder (scheme '{uri.Scheme}')";
            }
            else if (SecretInPath(uri) is { } why)
            {
                problem = why;
            }
            else if (BareUrl(trimmed, uri) is not { } bare)
            {
                problem = "its URL cannot be taken apart safely into host and path";
            }
            else
            {
                if (uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
                {
                    credentials.Add(key);
                }

                value = bare;
            }
        }
        else if (trimmed.Contains('@', StringComparison.Ordinal) && trimmed.Contains("://", StringComparison.Ordinal))
        {
            problem = "its value looks like a URL with user info but cannot be read as one";
        }

        if (problem is not null)
        {
            warnings?.Add(Errors.Errors.SanitizedSourceLeftOut.With(key, problem));
            return null;
        }

        var add = new XElement("add", new XAttribute("key", key), new XAttribute("value", value));
        if (Attr(item, "protocolVersion") is { } version && int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
        {
            add.Add(new XAttribute("protocolVersion", v.ToString(CultureInfo.InvariantCulture)));
        }

        return add;
    }

    private static XElement? Config(XElement item)
    {
        if (!IsAdd(item) || Attr(item, "key") is not { } key || Attr(item, "value") is not { } value)
        {
            return null;
        }

        var safe = key.ToLowerInvariant() switch
        {
            "globalpackagesfolder" or "repositorypath" => IsFolder(value),
            "dependencyversion" => value.Trim().ToLowerInvariant() is "lowest" or "highestpatch" or "highestminor" or "highest" or "ignore",
            "signaturevalidationmode" => value.Trim().ToLowerInvariant() is "accept" or "require",
            "maxhttprequestspersource" => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _),
            _ => false,
        };
        return safe ? new XElement("add", new XAttribute("key", key), new XAttribute("value", value)) : null;
    }

    private static XElement? Mapping(XElement item)
    {
        if (Is(item, "clear"))
        {
            return new XElement("clear");
        }

        return Is(item, "packageSource") && Attr(item, "key") is { } key
            ? new XElement("packageSource", new XAttribute("key", key), item.Elements().Where(p => Is(p, "package")).Select(p => Attr(p, "pattern")).OfType<string>().Select(p => new XElement("package", new XAttribute("pattern", p))))
            : null;
    }

    private static XElement? Signer(XElement item)
    {
        if (Is(item, "clear"))
        {
            return new XElement("clear");
        }

        if (!(Is(item, "author") || Is(item, "repository")) || Attr(item, "name") is not { } name)
        {
            return null;
        }

        var signer = new XElement(Is(item, "author") ? "author" : "repository", new XAttribute("name", name));
        if (signer.Name == "repository")
        {
            if (Attr(item, "serviceIndex") is not { } index || !NuGetSource.TryGetHttpUri(index.Trim(), out var uri) || SecretInPath(uri) is not null)
            {
                return null;
            }

            if (BareUrl(index.Trim(), uri) is not { } bare)
            {
                return null;
            }

            signer.Add(new XAttribute("serviceIndex", bare));
        }

        foreach (var certificate in item.Elements().Where(c => Is(c, "certificate")))
        {
            var copy = new XElement("certificate");
            foreach (var attribute in new[] { "fingerprint", "hashAlgorithm", "allowUntrustedRoot" })
            {
                if (Attr(certificate, attribute) is { } v)
                {
                    copy.Add(new XAttribute(attribute, v));
                }
            }

            signer.Add(copy);
        }

        foreach (var owners in item.Elements().Where(o => Is(o, "owners")))
        {
            signer.Add(new XElement("owners", owners.Value));
        }

        return signer;
    }

    /// <summary>
    /// The URL as written without user info, query and fragment, or <see langword="null"/> when what is
    /// left is not the same host with nothing of those. Cut from the text rather than rebuilt, which would
    /// re-escape the path (and a <c>%VARIABLE%</c> in it).
    /// </summary>
    private static string? BareUrl(string value, Uri parsed)
    {
        var start = value.IndexOf("://", StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += 3;
        var end = value.IndexOfAny(['/', '\\', '?', '#'], start);
        end = end < 0 ? value.Length : end;
        var at = end > start ? value.LastIndexOf('@', end - 1, end - start) : -1;
        var rest = value[(at < 0 ? start : at + 1)..];
        var cut = rest.IndexOfAny(['?', '#']);
        var bare = value[..start] + (cut < 0 ? rest : rest[..cut]);
        return Uri.TryCreate(bare, UriKind.Absolute, out var check)
            && check.Scheme == parsed.Scheme && check.UserInfo.Length == 0 && check.Query.Length == 0 && check.Fragment.Length == 0
            && string.Equals(check.IdnHost, parsed.IdnHost, StringComparison.OrdinalIgnoreCase) && check.Port == parsed.Port
            ? bare
            : null;
    }

    /// <summary>The items of every section named <paramref name="name"/> directly under the root, in document order.</summary>
    private static IEnumerable<XElement> Sections(XElement root, string name) =>
        root.Elements().Where(e => Is(e, name)).SelectMany(e => e.Elements());

    private static void Add(XElement configuration, string name, IEnumerable<XElement?> items)
    {
        var kept = items.OfType<XElement>().ToList();
        if (kept.Count > 0)
        {
            configuration.Add(new XElement(name, kept));
        }
    }

    /// <summary>A folder, absolute or relative to the config file; not a URL (a file URL is a folder).</summary>
    private static bool IsFolder(string value)
    {
        var trimmed = value.Trim();
        return trimmed.Length > 0
            && (trimmed.StartsWith('/') || trimmed.StartsWith('~') || trimmed.StartsWith('%') || !trimmed.Contains(':', StringComparison.Ordinal)
                || (Uri.TryCreate(trimmed, UriKind.Absolute, out var uri) && uri.IsFile && uri.UserInfo.Length == 0 && uri.Query.Length == 0));
    }

    private static bool IsAdd(XElement element) => Is(element, "add");

    private static string? Attr(XElement element, string name) =>
        element.Attributes().FirstOrDefault(a => string.Equals(a.Name.LocalName, name, StringComparison.OrdinalIgnoreCase))?.Value;

    private static bool Is(XElement element, string name) => string.Equals(element.Name.LocalName, name, StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex("^[0-9a-fA-F]{32,}$", RegexOptions.CultureInvariant)]
    private static partial Regex HexKey();
}
