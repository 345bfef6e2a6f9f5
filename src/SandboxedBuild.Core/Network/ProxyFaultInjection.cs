namespace SandboxedBuild.Network;

/// <summary>How a simulated proxy fault behaves.</summary>
internal enum ProxyFaultKind
{
    /// <summary>The proxy fails: everything it holds is closed at once, as if its process had died.</summary>
    Kill,

    /// <summary>The proxy stops reading: its relays take no more bytes, and only the watchdog can end them.</summary>
    Wedge,

    /// <summary>The proxy's accept loop takes no connection at all; they wait on its socket until the watchdog ends them.</summary>
    WedgeAccept,

    /// <summary>The proxy takes this many milliseconds to start, as on a loaded machine; nothing else changes.</summary>
    SlowStart,
}

/// <summary>
/// A fault the egress proxy simulates on itself, for tests: <c>kill-after:BYTES</c> or
/// <c>wedge-after:BYTES</c> in <see cref="VariableName"/>, counted over the bytes relayed to the sandbox,
/// or <c>wedge-accept:0</c>, which accepts no connection at all, or <c>slow-start:MS</c>, which only
/// delays the proxy's start (for a signal that arrives meanwhile).
/// </summary>
/// <remarks>
/// Read from the tool's own environment, which the caller sets and the sandboxed command cannot
/// (the command's environment is built for it inside; nothing from inside reaches the tool's).
/// Either fault only takes the network away from the run, which then ends in SBX6009 or SBX6010:
/// it can never let a connection through that the policy refuses.
/// </remarks>
internal sealed record ProxyFaultInjection(ProxyFaultKind Kind, long AfterBytes)
{
    /// <summary>The variable that asks for a fault.</summary>
    public const string VariableName = "DOTNET_SANDBOX_TEST_PROXY_FAULT";

    /// <summary>The fault the tool's environment asks for, if any (a value it cannot read is ignored).</summary>
    public static ProxyFaultInjection? FromEnvironment() => Parse(Environment.GetEnvironmentVariable(VariableName));

    /// <summary>Parses <c>kill-after:BYTES</c>, <c>wedge-after:BYTES</c>, <c>wedge-accept:0</c> or <c>slow-start:MS</c>.</summary>
    public static ProxyFaultInjection? Parse(string? value)
    {
        if (value?.Split(':') is not [var kind, var bytes]
            || !long.TryParse(bytes, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var after))
        {
            return null;
        }

        return kind switch
        {
            "kill-after" => new ProxyFaultInjection(ProxyFaultKind.Kill, after),
            "wedge-after" => new ProxyFaultInjection(ProxyFaultKind.Wedge, after),
            "wedge-accept" => new ProxyFaultInjection(ProxyFaultKind.WedgeAccept, after),
            "slow-start" => new ProxyFaultInjection(ProxyFaultKind.SlowStart, after),
            _ => null,
        };
    }
}
