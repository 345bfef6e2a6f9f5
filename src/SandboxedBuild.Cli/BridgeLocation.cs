using SandboxedBuild.Network;

namespace SandboxedBuild.Cli;

/// <summary>Where this tool's bridge is: next to it, as the tool package and the build lay it out.</summary>
internal static class BridgeLocation
{
    /// <summary>
    /// The native dotnet-sandbox-bridge next to the native tool, or, on the JIT (the build output,
    /// as in the tests), dotnet-sandbox-bridge.dll next to dotnet-sandbox.dll. The path is returned
    /// whether or not the file is there; the runner refuses a missing one (SBX6012).
    /// </summary>
    public static string NextToThisTool()
    {
        // (RuntimeFeature.IsDynamicCodeSupported cannot tell: a project that publishes AOT turns it
        // off on the JIT too.) The JIT build is a directory with the tool's assembly in it.
        var directory = AppContext.BaseDirectory;
        return File.Exists(Path.Combine(directory, "dotnet-sandbox.dll"))
            ? Path.Combine(directory, BridgeMounts.ExecutableName + ".dll")
            : Path.Combine(directory, BridgeMounts.ExecutableName);
    }
}
