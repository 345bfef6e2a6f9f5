using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace SandboxedBuild.Network;

/// <summary>
/// The strict grammar of an authority the sandbox names to the egress proxy: <c>host[:port]</c>,
/// where host is a DNS name of letter-digit-hyphen labels, a dotted-decimal IPv4 address or a
/// bracketed IPv6 address, and port is decimal from 1 to 65535.
/// </summary>
/// <remarks>
/// The one normalized name this yields is what the policy matches and what the resolver gets:
/// lower-case, one trailing dot dropped, addresses in their canonical form (an IPv4-mapped IPv6
/// address as IPv4). Refused outright: control bytes and NUL, spaces, non-ASCII (IDNA names come as
/// <c>xn--</c> A-labels), <c>%</c> (percent-encoding, zone identifiers), user information
/// (<c>@</c>), empty labels, labels over 63 characters, names over 253, a label that starts or ends
/// with a hyphen, and names whose last label is a number but that are not four decimal octets (the
/// resolver would read <c>0x7f.1</c> or <c>2130706433</c> as an address the policy never saw).
/// </remarks>
internal static class Authority
{
    /// <summary>The longest host name, without the trailing dot.</summary>
    public const int MaxNameLength = 253;

    /// <summary>Parses <paramref name="text"/> as <c>host:port</c> (or <c>host</c>, with <paramref name="defaultPort"/>, unless <paramref name="portRequired"/>).</summary>
    public static bool TryParse(string text, bool portRequired, int defaultPort, out string host, out int port, out string error)
    {
        host = string.Empty;
        port = 0;
        if (!CheckCharacters(text, out error))
        {
            return false;
        }

        string hostText;
        string? portText = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = "an IPv6 address without its closing bracket";
                return false;
            }

            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    error = "something other than :port after the IPv6 address";
                    return false;
                }

                portText = rest[1..];
            }

            if (!TryParseIPv6(text[1..close], out host))
            {
                error = "the bracketed part is not an IPv6 address";
                return false;
            }
        }
        else
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && text.IndexOf(':', colon + 1) >= 0)
            {
                error = "more than one ':' (an IPv6 address goes in brackets)";
                return false;
            }

            hostText = colon < 0 ? text : text[..colon];
            portText = colon < 0 ? null : text[(colon + 1)..];
            if (!TryNormalizeName(hostText, out host, out error))
            {
                return false;
            }
        }

        if (portText is null)
        {
            if (portRequired)
            {
                error = "no port";
                host = string.Empty;
                return false;
            }

            port = defaultPort;
            error = string.Empty;
            return true;
        }

        if (!TryParsePort(portText, out port))
        {
            error = "the port is not a decimal number from 1 to 65535";
            host = string.Empty;
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>
    /// Checks and normalizes a host that is not bracketed: a DNS name of LDH labels or a dotted-decimal
    /// IPv4 address; see the remarks on <see cref="Authority"/>.
    /// </summary>
    public static bool TryNormalizeName(string text, out string host, out string error)
    {
        host = string.Empty;
        if (!CheckCharacters(text, out error))
        {
            return false;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            error = "a ':' in the host";
            return false;
        }

        // One trailing dot (the absolute form of a name) is the same name; a second is an empty label.
        var name = (text.EndsWith('.') ? text[..^1] : text).ToLowerInvariant();
        if (name.Length == 0)
        {
            error = "an empty host";
            return false;
        }

        if (name.Length > MaxNameLength)
        {
            error = $"a host longer than {MaxNameLength} characters";
            return false;
        }

        var labels = name.Split('.');
        foreach (var label in labels)
        {
            if (label.Length == 0)
            {
                error = "an empty label in the host";
                return false;
            }

            if (label.Length > 63)
            {
                error = "a label longer than 63 characters in the host";
                return false;
            }

            if (!label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                error = "a character in the host that is not a letter, digit, hyphen or dot";
                return false;
            }

            if (label[0] == '-' || label[^1] == '-')
            {
                error = "a label in the host that starts or ends with a hyphen";
                return false;
            }
        }

        if (LooksNumeric(labels[^1]))
        {
            if (!IsDottedDecimal(labels))
            {
                error = "a host that ends in a number but is not a dotted-decimal IPv4 address";
                return false;
            }
        }

        host = name;
        error = string.Empty;
        return true;
    }

    /// <summary>Refuses what no authority may hold, with the first reason that applies.</summary>
    private static bool CheckCharacters(string text, out string error)
    {
        if (text.Length == 0)
        {
            error = "an empty host";
            return false;
        }

        foreach (var c in text)
        {
            string? why = c switch
            {
                '\0' => "a NUL byte in the host",
                ' ' or '\t' => "a space in the host",
                < ' ' or '\x7f' => "a control byte in the host",
                > '\x7f' => "a non-ASCII character in the host (IDNA names are sent as xn-- labels)",
                '%' => "a '%' in the host (percent-encoding and zone identifiers are refused)",
                '@' => "user information ('@') in the authority",
                _ => null,
            };
            if (why is not null)
            {
                error = why;
                return false;
            }
        }

        error = string.Empty;
        return true;
    }

    private static bool TryParseIPv6(string text, out string host)
    {
        host = string.Empty;
        if (text.Length == 0 || !text.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')
            || !IPAddress.TryParse(text, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        host = HostRule.Normalize(address).ToString();
        return true;
    }

    /// <summary>1 to 5 decimal digits, no sign, no leading zero, from 1 to 65535.</summary>
    private static bool TryParsePort(string text, out int port)
    {
        port = 0;
        if (text.Length is 0 or > 5 || text[0] == '0' || !text.All(char.IsAsciiDigit))
        {
            return false;
        }

        port = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return port <= 65535;
    }

    /// <summary>Whether inet_aton could read the label as a number: decimal, octal or <c>0x</c> hexadecimal.</summary>
    private static bool LooksNumeric(string label) =>
        label.All(char.IsAsciiDigit) || (label.StartsWith("0x", StringComparison.Ordinal) && label[2..].All(char.IsAsciiHexDigit));

    /// <summary>Exactly four decimal octets from 0 to 255, without leading zeros.</summary>
    private static bool IsDottedDecimal(string[] labels) =>
        labels.Length == 4 && labels.All(l => l.Length <= 3 && l.All(char.IsAsciiDigit) && (l.Length == 1 || l[0] != '0') && int.Parse(l, CultureInfo.InvariantCulture) <= 255);
}
