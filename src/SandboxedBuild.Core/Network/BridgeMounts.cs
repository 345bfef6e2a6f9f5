namespace SandboxedBuild.Network;

/// <summary>What the sandbox needs to run the bridge: the proxy's socket directory and the bridge executable.</summary>
/// <param name="HostSocketDirectory">The private host directory that holds the proxy's socket.</param>
/// <param name="Tool">Host files or directories of the bridge, and where they appear inside.</param>
/// <param name="Launcher">The argument vector prefix that runs the bridge inside the sandbox.</param>
public sealed record BridgeMounts(string HostSocketDirectory, IReadOnlyList<(string HostPath, string InsidePath)> Tool, IReadOnlyList<string> Launcher)
{
    /// <summary>Where the bridge appears inside the sandbox.</summary>
    public const string ToolDirectoryInside = "/run/dotnet-sandbox/tool";

    /// <summary>The bridge's file name: the native executable, or its assembly with <c>.dll</c> on the JIT.</summary>
    public const string ExecutableName = "dotnet-sandbox-bridge";

    /// <summary>Placeholders for printing a policy without starting anything.</summary>
    public static BridgeMounts ForPrinting { get; } = new(
        "<private directory of the egress proxy's socket>",
        [("<the dotnet-sandbox-bridge executable>", ToolDirectoryInside + "/" + ExecutableName)],
        [ToolDirectoryInside + "/" + ExecutableName]);

    /// <summary>
    /// How to run <paramref name="bridgeExecutable"/> inside: a native executable itself, or an
    /// assembly (<c>.dll</c>, on the JIT, as in the tests) with the dotnet host and its directory.
    /// </summary>
    /// <param name="bridgeExecutable">The absolute path of dotnet-sandbox-bridge or dotnet-sandbox-bridge.dll.</param>
    /// <param name="hostSocketDirectory">The private host directory that holds the proxy's socket.</param>
    public static BridgeMounts For(string bridgeExecutable, string hostSocketDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(bridgeExecutable);
        if (!Path.IsPathFullyQualified(bridgeExecutable))
        {
            throw new ArgumentException($"the bridge's path must be absolute: '{bridgeExecutable}'", nameof(bridgeExecutable));
        }

        var name = Path.GetFileName(bridgeExecutable);
        if (!name.EndsWith(".dll", StringComparison.Ordinal))
        {
            // Native AOT: one self-contained file.
            return new BridgeMounts(hostSocketDirectory, [(bridgeExecutable, ToolDirectoryInside + "/" + ExecutableName)], [ToolDirectoryInside + "/" + ExecutableName]);
        }

        // On the JIT the bridge is a directory of assemblies run by the dotnet host (this process's
        // own when it is the dotnet host, else the one on the sandbox's PATH).
        var processPath = Environment.ProcessPath;
        var host = processPath is not null && Path.GetFileName(processPath) == "dotnet" ? processPath : "dotnet";
        return new BridgeMounts(
            hostSocketDirectory,
            [(Path.GetDirectoryName(bridgeExecutable)!, ToolDirectoryInside)],
            [host, ToolDirectoryInside + "/" + name]);
    }
}
