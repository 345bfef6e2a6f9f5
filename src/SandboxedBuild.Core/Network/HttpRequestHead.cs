using System.Text;

namespace SandboxedBuild.Network;

/// <summary>
/// The head of a request sent to a forward proxy: <c>CONNECT host:port</c> for tunnels, or an
/// absolute-form request (<c>GET http://host/path</c>) for plain HTTP, read with a strict grammar.
/// </summary>
/// <remarks>
/// The bytes come from the sandbox. Anything the grammar does not describe is refused rather than
/// repaired: control bytes (NUL among them) anywhere but a header value's tab, bare CR or LF,
/// folded header lines, header names that are not tokens, more than one <c>Host</c> header, and a
/// plain-HTTP <c>Host</c> header that names another authority than the request target, or none in
/// HTTP/1.1 (an HTTP/1.0 request without one gets one naming the target). The host is
/// checked and normalized by <see cref="Authority"/>; the proxy matches and resolves only that
/// normalized name.
/// </remarks>
/// <param name="Method">The method token.</param>
/// <param name="Host">The normalized host (see <see cref="Authority.TryParse"/>).</param>
/// <param name="Port">The port.</param>
/// <param name="Target">For plain HTTP the origin-form target (path and query); for CONNECT the authority as sent.</param>
/// <param name="Version"><c>HTTP/1.0</c> or <c>HTTP/1.1</c>.</param>
/// <param name="HeaderLines">The header lines, checked, as sent.</param>
internal sealed record HttpRequestHead(string Method, string Host, int Port, string Target, string Version, IReadOnlyList<string> HeaderLines)
{
    /// <summary>The longest head accepted (request line and headers); anything longer is refused rather than buffered.</summary>
    public const int MaxLength = 16 * 1024;

    public bool IsConnect => Method == "CONNECT";

    /// <summary>Parses the head (the bytes before the blank line); <see langword="null"/> if it is not one the proxy serves.</summary>
    public static HttpRequestHead? Parse(ReadOnlySpan<byte> head) => TryParse(head, out var parsed, out _) ? parsed : null;

    /// <summary>
    /// Parses the head (the bytes before the blank line that ends it). On failure
    /// <paramref name="error"/> says why, in words that quote nothing from the request.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> head, out HttpRequestHead? parsed, out string error)
    {
        parsed = null;
        if (head.Length > MaxLength)
        {
            error = $"the request head is longer than {MaxLength / 1024} KiB";
            return false;
        }

        var lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? head : head[..lineEnd];
        if (!TryParseRequestLine(requestLine, out var method, out var target, out var version, out error))
        {
            return false;
        }

        var headers = new List<string>();
        var hostHeaders = new List<string>();
        var rest = lineEnd < 0 ? ReadOnlySpan<byte>.Empty : head[(lineEnd + 2)..];
        while (lineEnd >= 0)
        {
            lineEnd = rest.IndexOf("\r\n"u8);
            var line = lineEnd < 0 ? rest : rest[..lineEnd];
            rest = lineEnd < 0 ? ReadOnlySpan<byte>.Empty : rest[(lineEnd + 2)..];
            if (!TryParseHeaderLine(line, out var name, out var value, out error))
            {
                return false;
            }

            var text = Encoding.Latin1.GetString(line);
            headers.Add(text);
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                hostHeaders.Add(value);
            }
        }

        if (hostHeaders.Count > 1)
        {
            error = "the request has more than one Host header";
            return false;
        }

        if (method == "CONNECT")
        {
            if (!Authority.TryParse(target, portRequired: true, defaultPort: 0, out var host, out var port, out error))
            {
                error = "the CONNECT target is not host:port: " + error;
                return false;
            }

            parsed = new HttpRequestHead(method, host, port, target, version, headers);
            return true;
        }

        const string Scheme = "http://";
        if (!target.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            error = "the proxy serves CONNECT host:port and absolute-form http:// requests only";
            return false;
        }

        if (target.Contains('#', StringComparison.Ordinal))
        {
            error = "the request target has a fragment ('#')";
            return false;
        }

        var afterScheme = target[Scheme.Length..];
        var end = afterScheme.IndexOfAny(['/', '?']);
        var authority = end < 0 ? afterScheme : afterScheme[..end];
        var path = end < 0 ? "/" : afterScheme[end] == '?' ? "/" + afterScheme[end..] : afterScheme[end..];
        if (!Authority.TryParse(authority, portRequired: false, defaultPort: 80, out var targetHost, out var targetPort, out error))
        {
            error = "the request target's authority is not host[:port]: " + error;
            return false;
        }

        if (hostHeaders.Count == 0)
        {
            if (version != "HTTP/1.0")
            {
                error = "the request has no Host header";
                return false;
            }

            // HTTP/1.0 may leave it out; the origin is then told the authority the policy decided.
            headers.Insert(0, "Host: " + HostHeader(targetHost, targetPort));
            parsed = new HttpRequestHead(method, targetHost, targetPort, path, version, headers);
            return true;
        }

        if (!Authority.TryParse(hostHeaders[0], portRequired: false, defaultPort: 80, out var headerHost, out var headerPort, out error))
        {
            error = "the Host header is not host[:port]: " + error;
            return false;
        }

        if (headerHost != targetHost || headerPort != targetPort)
        {
            error = "the Host header names another host or port than the request target";
            return false;
        }

        parsed = new HttpRequestHead(method, targetHost, targetPort, path, version, headers);
        return true;
    }

    /// <summary>
    /// The request as the origin server should see it: origin-form target, no proxy headers, and
    /// <c>Connection: close</c>, because the proxy serves one request per plain-HTTP connection.
    /// </summary>
    public byte[] ToOriginRequest()
    {
        var sb = new StringBuilder();
        sb.Append(Method).Append(' ').Append(Target).Append(' ').Append(Version).Append("\r\n");
        foreach (var line in HeaderLines)
        {
            var name = line.Split(':', 2)[0];
            if (name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            sb.Append(line).Append("\r\n");
        }

        sb.Append("Connection: close\r\n\r\n");
        return Encoding.Latin1.GetBytes(sb.ToString());
    }

    private static string HostHeader(string host, int port) =>
        (host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host) + (port == 80 ? string.Empty : ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary><c>method SP target SP HTTP/1.x</c>, visible ASCII only.</summary>
    private static bool TryParseRequestLine(ReadOnlySpan<byte> line, out string method, out string target, out string version, out string error)
    {
        method = target = version = string.Empty;
        if (line.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7e) is var bad and >= 0)
        {
            error = line[bad] switch
            {
                0 => "the request line contains a NUL byte",
                (byte)'\r' or (byte)'\n' => "the request line contains a bare CR or LF",
                < 0x20 or 0x7f => "the request line contains a control byte",
                _ => "the request line contains a byte that is not ASCII",
            };
            return false;
        }

        var first = line.IndexOf((byte)' ');
        var last = line.LastIndexOf((byte)' ');
        if (first <= 0 || last == first || line[(first + 1)..last].Contains((byte)' ') || last == line.Length - 1 || last == first + 1)
        {
            error = "the request line is not 'METHOD TARGET HTTP/1.x' with single spaces";
            return false;
        }

        var methodBytes = line[..first];
        foreach (var b in methodBytes)
        {
            if (!IsTokenByte(b))
            {
                error = "the method is not a token";
                return false;
            }
        }

        var versionBytes = line[(last + 1)..];
        if (versionBytes.Length != 8 || !versionBytes.StartsWith("HTTP/1."u8) || !char.IsAsciiDigit((char)versionBytes[7]))
        {
            error = "the request line does not end in HTTP/1.x";
            return false;
        }

        method = Encoding.ASCII.GetString(methodBytes);
        target = Encoding.ASCII.GetString(line[(first + 1)..last]);
        version = Encoding.ASCII.GetString(versionBytes);
        error = string.Empty;
        return true;
    }

    /// <summary><c>token ":" OWS value OWS</c>; the value may hold tabs and bytes from 0x80 up (obs-text), no other control.</summary>
    private static bool TryParseHeaderLine(ReadOnlySpan<byte> line, out string name, out string value, out string error)
    {
        name = value = string.Empty;
        if (line.IsEmpty)
        {
            error = "the request head has an empty header line";
            return false;
        }

        if (line[0] is (byte)' ' or (byte)'\t')
        {
            error = "the request head has a folded header line";
            return false;
        }

        var colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            error = "the request head has a header line that is not 'Name: value'";
            return false;
        }

        foreach (var b in line[..colon])
        {
            if (!IsTokenByte(b))
            {
                error = b == 0 ? "a header name contains a NUL byte" : b < 0x20 || b == 0x7f ? "a header name contains a control byte" : "a header name is not a token";
                return false;
            }
        }

        var rawValue = line[(colon + 1)..];
        foreach (var b in rawValue)
        {
            if (b == 0)
            {
                error = "a header value contains a NUL byte";
                return false;
            }

            if ((b < 0x20 && b != (byte)'\t') || b == 0x7f)
            {
                error = b is (byte)'\r' or (byte)'\n' ? "a header value contains a bare CR or LF" : "a header value contains a control byte";
                return false;
            }
        }

        name = Encoding.ASCII.GetString(line[..colon]);
        value = Encoding.Latin1.GetString(rawValue).Trim(' ', '\t');
        error = string.Empty;
        return true;
    }

    /// <summary>tchar of RFC 9110: letters, digits and <c>!#$%&amp;'*+-.^_`|~</c>.</summary>
    private static bool IsTokenByte(byte b) =>
        char.IsAsciiLetterOrDigit((char)b) || "!#$%&'*+-.^_`|~".Contains((char)b, StringComparison.Ordinal);
}
