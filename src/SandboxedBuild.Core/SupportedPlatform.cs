using SandboxedBuild.Errors;

namespace SandboxedBuild;

/// <summary>The operating systems the tool can sandbox on, checked before any command does anything.</summary>
public static class SupportedPlatform
{
    /// <summary>Throws the coded error for the current operating system when it has no backend.</summary>
    /// <exception cref="SandboxException">SBX1009 on Windows and other systems; SBX5001 on macOS.</exception>
    public static void Require() => Require(
        OperatingSystem.IsWindows() ? OSKind.Windows : OperatingSystem.IsMacOS() ? OSKind.MacOS : OperatingSystem.IsLinux() ? OSKind.Linux : OSKind.Other,
        System.Runtime.InteropServices.RuntimeInformation.OSDescription);

    /// <summary>The check itself, with the operating system given (the seam the tests use).</summary>
    /// <param name="os">The kind of operating system.</param>
    /// <param name="description">Its name, for the message on systems the tool does not know.</param>
    /// <exception cref="SandboxException">SBX1009 on Windows and other systems; SBX5001 on macOS.</exception>
    public static void Require(OSKind os, string description) => _ = os switch
    {
        OSKind.Linux => 0,
        OSKind.Windows => throw new SandboxException(Errors.Errors.PlatformNotSupported, "Windows"),
        OSKind.MacOS => throw new SandboxException(Errors.Errors.SeatbeltNotImplemented),
        _ => throw new SandboxException(Errors.Errors.PlatformNotSupported, TerminalText.Name(description)),
    };
}

/// <summary>The kinds of operating system <see cref="SupportedPlatform"/> tells apart.</summary>
public enum OSKind
{
    /// <summary>Linux: bubblewrap.</summary>
    Linux,

    /// <summary>Windows: no backend.</summary>
    Windows,

    /// <summary>macOS: Seatbelt, not implemented yet.</summary>
    MacOS,

    /// <summary>Anything else (FreeBSD, …): no backend.</summary>
    Other,
}
