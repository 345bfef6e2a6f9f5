using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace SandboxedBuild.Network;

/// <summary>
/// Refuses addresses an allowed name must not lead to: loopback, link-local (cloud metadata lives
/// there), unspecified, multicast, and this host's own addresses. A name that resolves to one of
/// them is DNS rebinding or a misconfiguration; only a literal address the user allowed reaches them.
/// </summary>
public sealed class AddressGuard
{
    private static readonly IPAddress AwsMetadataV6 = IPAddress.Parse("fd00:ec2::254");

    private readonly HashSet<IPAddress> _own;

    /// <summary>Creates a guard that also refuses <paramref name="ownAddresses"/>.</summary>
    public AddressGuard(IEnumerable<IPAddress> ownAddresses)
    {
        _own = [.. ownAddresses.Select(HostRule.Normalize)];
    }

    /// <summary>A guard that knows this machine's interface addresses.</summary>
    public static AddressGuard ForThisHost()
    {
        IEnumerable<IPAddress> own;
        try
        {
            own = NetworkInterface.GetAllNetworkInterfaces().SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address).ToList();
        }
        catch (NetworkInformationException)
        {
            own = [];
        }

        return new AddressGuard(own);
    }

    /// <summary>
    /// Every kind <see cref="WhyRefused"/> names, with the addresses it covers, for printed policies.
    /// Keep in step with <see cref="WhyRefused"/>; a unit test checks that each answer is listed.
    /// </summary>
    public static IReadOnlyList<(string Kind, string Addresses)> RefusedKinds { get; } =
    [
        ("loopback", "127.0.0.0/8, ::1"),
        ("unspecified", "0.0.0.0, ::"),
        ("this network", "0.0.0.0/8"),
        ("link-local", "169.254.0.0/16, fe80::/10, fec0::/10"),
        ("cloud metadata", "169.254.169.254, fd00:ec2::254"),
        ("multicast or reserved", "224.0.0.0 and above, ff00::/8"),
        ("one of this host's own addresses", "those of its network interfaces when the run starts"),
    ];

    /// <summary>Why <paramref name="address"/> is refused, or <see langword="null"/> if it is fine.</summary>
    public string? WhyRefused(IPAddress address)
    {
        address = HostRule.Normalize(address);
        if (IPAddress.IsLoopback(address))
        {
            return "loopback";
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return "unspecified";
        }

        if (address.Equals(AwsMetadataV6))
        {
            return "cloud metadata";
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            if (b[0] == 169 && b[1] == 254)
            {
                return b[2] == 169 && b[3] == 254 ? "cloud metadata" : "link-local";
            }

            if (b[0] >= 224)
            {
                return "multicast or reserved";
            }

            if (b[0] == 0)
            {
                return "this network";
            }
        }
        else if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal)
        {
            return "link-local";
        }
        else if (address.IsIPv6Multicast)
        {
            return "multicast or reserved";
        }

        return _own.Contains(address) ? "one of this host's own addresses" : null;
    }
}
