using System.Globalization;
using System.Text;

namespace SandboxedBuild.Network;

/// <summary>
/// The head of a request sent to a forward proxy: <c>CONNECT host:port</c> for tunnels, or an
/// absolute-form request (<c>GET http://host/path</c>) for plain HTTP.
/// </summary>
internal sealed record HttpRequestHead(string Method, string Host, int Port, string Target, string Version, IReadOnlyList<string> HeaderLines)
{
    /// <summary>The longest head accepted; anything longer is refused rather than buffered.</summary>
    public const int MaxLength = 64 * 1024;

    public bool IsConnect => Method == "CONNECT";

    /// <summary>Parses the head (the bytes up to and including the blank line); <see langword="null"/> if it is not one a proxy serves.</summary>
    public static HttpRequestHead? Parse(ReadOnlySpan<byte> head)
    {
        var text = Encoding.Latin1.GetString(head);
        var lines = text.Split("\r\n");
        var parts = lines[0].Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return null;
        }

        var headers = lines.Skip(1).Where(l => l.Length > 0).ToList();
        if (parts[0] == "CONNECT")
        {
            return SplitAuthority(parts[1], defaultPort: -1) is { } authority
                ? new HttpRequestHead("CONNECT", authority.Host, authority.Port, parts[1], parts[2], headers)
                : null;
        }

        if (!parts[1].StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var rest = parts[1]["http://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var path = slash < 0 ? "/" : rest[slash..];
        var auth = slash < 0 ? rest : rest[..slash];
        return SplitAuthority(auth, defaultPort: 80) is { } a ? new HttpRequestHead(parts[0], a.Host, a.Port, path, parts[2], headers) : null;
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
            var name = line.Split(':', 2)[0].Trim();
            if (name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            sb.Append(line).Append("\r\n");
        }

        sb.Append("Connection: close\r\n\r\n");
        return Encoding.Latin1.GetBytes(sb.ToString());
    }

    private static (string Host, int Port)? SplitAuthority(string authority, int defaultPort)
    {
        string host;
        string? portText = null;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return null;
            }

            host = authority[1..close];
            if (close + 1 < authority.Length)
            {
                if (authority[close + 1] != ':')
                {
                    return null;
                }

                portText = authority[(close + 2)..];
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? null : authority[(colon + 1)..];
        }

        var port = defaultPort;
        if (portText is not null && !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port))
        {
            return null;
        }

        return host.Length == 0 || port is <= 0 or > 65535 ? null : (host, port);
    }
}
