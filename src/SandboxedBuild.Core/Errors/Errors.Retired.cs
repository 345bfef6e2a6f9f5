namespace SandboxedBuild.Errors;

/// <summary>A code that was in the catalog and is no longer: its number stays taken.</summary>
/// <param name="Code">The code, <c>SBX</c> followed by four digits.</param>
/// <param name="Meaning">What it used to report, as its docs page (which stays) says.</param>
/// <param name="RetiredIn">The version that stopped reporting it.</param>
public sealed record RetiredErrorCode(string Code, string Meaning, string RetiredIn);

public static partial class Errors
{
    /// <summary>
    /// Every code that was retired. A code leaves <see cref="All"/> only by moving here, and never
    /// comes back: a new meaning gets the next free number in its area. Its page under
    /// <c>docs/errors/</c> stays and says that it is retired, so that a search for a code from an old
    /// log still finds what it meant.
    /// </summary>
    /// <remarks>
    /// Empty so far: every code that a docs page, the changelog or the history of the catalog names
    /// is still in <see cref="All"/>. A unit test fails when a code that the docs name is in neither
    /// list, or in both.
    /// </remarks>
    public static IReadOnlyList<RetiredErrorCode> Retired { get; } =
    [
    ];
}
