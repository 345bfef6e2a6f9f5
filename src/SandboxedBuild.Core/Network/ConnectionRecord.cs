using SandboxedBuild.Errors;

namespace SandboxedBuild.Network;

/// <summary>One connection the sandbox asked the proxy for: what was decided, and how much went through.</summary>
/// <param name="Host">The host asked for, normalized.</param>
/// <param name="Port">The port.</param>
/// <param name="Allowed">Whether it went through.</param>
/// <param name="Reason">Why.</param>
/// <param name="BytesUp">Bytes from the sandbox to the host.</param>
/// <param name="BytesDown">Bytes from the host to the sandbox.</param>
/// <param name="Failed">Allowed, but it could not be made (the name did not resolve, the host did not answer).</param>
/// <param name="Rule">The allow entry that let it through; <see langword="null"/> when only audit mode did.</param>
/// <param name="Code">
/// For a connection refused before any host was decided (a malformed head, too many connections, no
/// head in time), the catalog code that says so; <see cref="Host"/> then holds the request line as
/// sent, escaped and bounded, or <c>?</c>.
/// </param>
/// <param name="Remedy">For a refused connection that a widening would allow, that widening, as data.</param>
public sealed record ConnectionRecord(string Host, int Port, bool Allowed, string Reason, long BytesUp, long BytesDown, bool Failed = false, HostRule? Rule = null, string? Code = null, HostRemedy? Remedy = null)
{
    /// <summary>The reason, with the remedy in <paramref name="wording"/>'s words after it.</summary>
    public string ReasonWithRemedy(IRemedyWording wording) => wording.WithRemedy(Reason, Remedy);
}
