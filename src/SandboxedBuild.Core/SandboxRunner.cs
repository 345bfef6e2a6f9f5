using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild;

/// <summary>The outcome of a sandboxed run, as data: status, time, warnings, and every network decision.</summary>
/// <param name="ExitCode">The command's exit status.</param>
/// <param name="Elapsed">Wall time of the sandbox.</param>
/// <param name="Warnings">Coded warnings about what the sandbox had to undo.</param>
/// <param name="Connections">Every connection the command asked the proxy for.</param>
public sealed record RunResult(int ExitCode, TimeSpan Elapsed, IReadOnlyList<string> Warnings, IReadOnlyList<ConnectionRecord> Connections);

/// <summary>How the run talks to the user about the network.</summary>
public sealed record NetworkHooks
{
    /// <summary>Asks about hosts no rule decides; <see langword="null"/> denies them.</summary>
    public IHostPrompt? Prompt { get; init; }

    /// <summary>Told about each refusal as it happens.</summary>
    public Action<string>? OnBlocked { get; init; }

    /// <summary>Told when the user allows a host for good.</summary>
    public Action<HostRule>? OnAlways { get; init; }
}

/// <summary>
/// Runs a command in the sandbox with everything around it: the egress proxy outside (started
/// before the command, stopped after it), the bridge inside, the launcher.
/// </summary>
public sealed class SandboxRunner(IFileSystem fileSystem)
{
    private readonly SandboxLauncher _launcher = new(fileSystem);

    /// <summary>Runs <paramref name="command"/> under <paramref name="policy"/>.</summary>
    public RunResult Run(string bwrap, SandboxPolicy policy, IReadOnlyList<string> command, NetworkHooks? hooks = null, bool silent = false)
    {
        if (policy.Network.Mode == NetworkMode.None)
        {
            var plain = _launcher.Run(bwrap, policy, command, silent);
            return new RunResult(plain.ExitCode, plain.Elapsed, plain.Warnings, []);
        }

        var runtime = CreatePrivateDirectory();
        try
        {
            var socket = Path.Combine(runtime, Bridge.SocketFileName);
            EgressProxy proxy;
            try
            {
                proxy = EgressProxy.Start(policy.Network, socket, AddressGuard.ForThisHost(), hooks?.Prompt, hooks?.OnBlocked, hooks?.OnAlways);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                throw new SandboxException(Errors.Errors.ProxyStartFailed, ex.Message, runtime);
            }

            LaunchResult result;
            try
            {
                result = _launcher.Run(bwrap, policy, command, silent, BridgeMounts.ForCurrentProcess(runtime));
            }
            finally
            {
                proxy.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            return new RunResult(result.ExitCode, result.Elapsed, result.Warnings, proxy.Records);
        }
        finally
        {
            try
            {
                Directory.Delete(runtime, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A fresh directory only the caller can enter, for the proxy's socket.</summary>
    private static string CreatePrivateDirectory()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new SandboxException(Errors.Errors.PlatformNotSupported, "Windows");
        }

        var runtimeRoot = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg && Directory.Exists(xdg) ? xdg : Path.GetTempPath();
        var dir = Path.Combine(runtimeRoot, "dotnet-sandbox-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return dir;
    }
}
