namespace SandboxedBuild.Network;

/// <summary>What the sandbox needs to run the bridge: the proxy's socket directory and this tool itself.</summary>
/// <param name="HostSocketDirectory">The private host directory that holds the proxy's socket.</param>
/// <param name="Tool">Host files or directories of this tool, and where they appear inside.</param>
/// <param name="Launcher">The argument vector prefix that runs this tool inside the sandbox.</param>
public sealed record BridgeMounts(string HostSocketDirectory, IReadOnlyList<(string HostPath, string InsidePath)> Tool, IReadOnlyList<string> Launcher)
{
    /// <summary>Where this tool appears inside the sandbox.</summary>
    public const string ToolDirectoryInside = "/run/dotnet-sandbox/tool";

    /// <summary>Placeholders for printing a policy without starting anything.</summary>
    public static BridgeMounts ForPrinting { get; } = new(
        "<private directory of the egress proxy's socket>",
        [("<this dotnet-sandbox executable>", ToolDirectoryInside + "/dotnet-sandbox")],
        [ToolDirectoryInside + "/dotnet-sandbox"]);

    /// <summary>
    /// How to run the current process's tool inside: the native executable itself, or (when running
    /// on the JIT, as in the tests) the dotnet host with the tool's directory.
    /// </summary>
    public static BridgeMounts ForCurrentProcess(string hostSocketDirectory)
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("the path of the current executable is unknown");
        // (RuntimeFeature.IsDynamicCodeSupported cannot tell: a project that publishes AOT turns it
        // off on the JIT too.) The JIT build is a directory with the tool's assembly in it.
        var assembly = Path.Combine(AppContext.BaseDirectory, "dotnet-sandbox.dll");
        if (!File.Exists(assembly))
        {
            // Native AOT: one self-contained file.
            return new BridgeMounts(hostSocketDirectory, [(processPath, ToolDirectoryInside + "/dotnet-sandbox")], [ToolDirectoryInside + "/dotnet-sandbox"]);
        }

        // On the JIT the tool is a directory of assemblies run by the dotnet host (the process
        // itself when started as 'dotnet dotnet-sandbox.dll', else the one on the sandbox's PATH).
        var host = Path.GetFileName(processPath) == "dotnet" ? processPath : "dotnet";
        return new BridgeMounts(
            hostSocketDirectory,
            [(AppContext.BaseDirectory.TrimEnd('/'), ToolDirectoryInside)],
            [host, ToolDirectoryInside + "/dotnet-sandbox.dll"]);
    }
}
