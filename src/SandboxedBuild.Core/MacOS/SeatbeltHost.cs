namespace SandboxedBuild.MacOS;

/// <summary>What a seatbelt profile needs to know about the run beyond the policy.</summary>
/// <param name="HomeDirectory">
/// The caller's real home directory (<c>/Users/dev</c>). When the policy makes it private, the
/// profile's header says which directory <c>HOME</c> must point at instead.
/// </param>
/// <param name="PrivateTempDirectory">
/// A directory of this run only, created by the backend before the run (mode 0700) and removed
/// after it, for example <c>/private/tmp/dotnet-sandbox-&lt;run&gt;</c>. Seatbelt cannot mount, so a
/// private (<see cref="Policy.PathAccess.Scratch"/>) path cannot be replaced in place the way
/// bubblewrap's tmpfs does: the profile denies the real path and makes
/// <see cref="SeatbeltProfile.ScratchDirectory"/> of it (this directory followed by the path,
/// <c>/tmp</c> → <c>PrivateTempDirectory/tmp</c>) readable and writable instead. The backend must
/// create those directories and point the programs at them through the environment: <c>TMPDIR</c>
/// at the one for <c>/tmp</c> and <c>HOME</c> at the one for the home directory, in place of the
/// policy's <c>TMPDIR=/tmp</c> and <c>HOME=&lt;home&gt;</c>. Programs that ignore the variables and
/// use the real path are refused there. Keep the path short: unix socket paths are limited to
/// 104 bytes on macOS, and programs put sockets in <c>TMPDIR</c>.
/// </param>
public sealed record SeatbeltHost(string HomeDirectory, string PrivateTempDirectory)
{
    /// <summary>How the host names the settings rules come from, in the profile's comments; <see cref="Network.RemedyWording.Neutral"/> when <see langword="null"/>.</summary>
    public Network.IRemedyWording? Wording { get; init; }
}
