using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;
using SandboxedBuild.Interop;

namespace SandboxedBuild;

/// <summary>The outcome of a sandboxed run, as data: status, time, warnings, and every network decision.</summary>
/// <param name="ExitCode">The command's exit status.</param>
/// <param name="Elapsed">Wall time of the sandbox.</param>
/// <param name="Warnings">Coded warnings about what the sandbox had to undo.</param>
/// <param name="Connections">Every connection the command asked the proxy for.</param>
public sealed record RunResult(int ExitCode, TimeSpan Elapsed, IReadOnlyList<Diagnostic> Warnings, IReadOnlyList<ConnectionRecord> Connections);

/// <summary>
/// Runs a command in the sandbox with everything around it: the egress proxy outside (started
/// before the command, stopped after it), the bridge inside, the launcher.
/// </summary>
/// <param name="fileSystem">The host's file system.</param>
/// <param name="bridgeExecutable">
/// The absolute path of the bridge that networked runs start inside the sandbox: the native
/// dotnet-sandbox-bridge, or dotnet-sandbox-bridge.dll on the JIT (see <see cref="BridgeMounts.For"/>).
/// Every host names the one it ships; without it a networked run fails with SBX6012 before anything runs.
/// </param>
/// <param name="proxyHost">
/// The proxy host whose sessions this runner's networked runs are, for a host that runs many
/// sandboxes (at once or one after another) through one; when <see langword="null"/>, each networked
/// run starts an egress proxy of its own and stops it after.
/// </param>
public sealed class SandboxRunner(IFileSystem fileSystem, string? bridgeExecutable = null, ProxyHost? proxyHost = null)
{
    private readonly SandboxLauncher _launcher = new(fileSystem);

    /// <summary>Runs <paramref name="command"/> under <paramref name="policy"/>.</summary>
    /// <param name="bwrap">The bubblewrap executable.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="command">The command and its arguments.</param>
    /// <param name="hooks">How the run talks to the host about the network.</param>
    /// <param name="streams">Where the command's stdin, stdout and stderr go (inherited unless said otherwise).</param>
    /// <param name="control">What stops the run from outside: the host's cancellation, and the process's own signals only when it says so; <see cref="RunControl.None"/> when <see langword="null"/>.</param>
    public RunResult Run(string bwrap, SandboxPolicy policy, IReadOnlyList<string> command, NetworkHooks? hooks = null, CommandStreams streams = CommandStreams.Inherited, RunControl? control = null)
    {
        if (policy.Network.Mode == NetworkMode.None)
        {
            var plain = _launcher.Run(bwrap, policy, command, streams, control: control);
            return new RunResult(plain.ExitCode, plain.Elapsed, plain.Warnings, []);
        }

        RequireBridge();

        // Held from before the private directory is made: a signal or a cancellation from then on
        // stops the run (SBX4015) after the clean-up below, instead of ending this process and
        // leaving the directory behind.
        using var signals = new SignalRelay(control ?? RunControl.None);
        var owned = CreatePrivateDirectory();
        try
        {
            var proxy = StartProxy(policy, owned.Path, hooks);
            LaunchResult result;
            try
            {
                result = _launcher.Run(bwrap, policy, command, streams, BridgeMounts.For(bridgeExecutable!, owned.Path), signals);
            }
            finally
            {
                proxy.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            return Outcome(result, proxy, stoppedBeforeStart: signals.StartupSignal is not null);
        }
        finally
        {
            // Its owner lock lets a later run remove it should this one be killed first (Leftovers).
            owned.Dispose();
        }
    }

    /// <summary>
    /// Prepares a run that the host starts itself: everything on the host side is made and held (the
    /// egress proxy for a networked policy, placeholders, output directories, the process bound), and
    /// the returned <see cref="PreparedSandbox"/> says what to start. The host starts
    /// <see cref="PreparedSandbox.Executable"/> with <see cref="PreparedSandbox.Arguments"/> however it
    /// likes (its own stdio, its own process API), and once that process has exited calls
    /// <see cref="PreparedSandbox.Complete"/> with its status; disposing it releases everything.
    /// </summary>
    /// <param name="bwrap">The bubblewrap executable.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="command">The command and its arguments.</param>
    /// <param name="hooks">How the run talks to the host about the network.</param>
    /// <exception cref="SandboxException">Something of the run cannot be prepared; nothing was started.</exception>
    public PreparedSandbox Prepare(string bwrap, SandboxPolicy policy, IReadOnlyList<string> command, NetworkHooks? hooks = null)
    {
        // The supervisor the host starts is the bridge executable's, with or without network.
        RequireBridge();
        var control = CreatePrivateDirectory();
        OwnedDirectory? network = null;
        EgressProxy? proxy = null;
        LaunchScope? scope = null;
        try
        {
            BridgeMounts? bridge = null;
            if (policy.Network.Mode != NetworkMode.None)
            {
                network = CreatePrivateDirectory();
                proxy = StartProxy(policy, network.Path, hooks);
                bridge = BridgeMounts.For(bridgeExecutable!, network.Path);
            }

            scope = _launcher.Prepare(bwrap, policy, command, bridge);

            // Not in the proxy's directory, which the sandbox sees: nothing inside can reach the channel.
            var socket = SocketPath(control.Path, "supervisor.sock");
            var host = SupervisorHost.Listen(scope, socket);
            var launcher = BridgeMounts.For(bridgeExecutable!, control.Path).Launcher;
            var (executable, prefix) = launcher.Count == 1 ? (bridgeExecutable!, Array.Empty<string>()) : (launcher[0], new[] { bridgeExecutable! });
            return new PreparedSandbox(executable, [.. prefix, Supervisor.CommandName, socket], host, scope, proxy, [control, .. network is null ? [] : new[] { network }]);
        }
        catch
        {
            scope?.Dispose();
            proxy?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            network?.Dispose();
            control.Dispose();
            throw;
        }
    }

    /// <summary>A run's result with what the proxy saw: its fault, and the bridge's word (a run stopped before its command started was not meant to hear it).</summary>
    internal static RunResult Outcome(LaunchResult result, EgressProxy? proxy, bool stoppedBeforeStart)
    {
        if (proxy is null)
        {
            return new RunResult(result.ExitCode, result.Elapsed, result.Warnings, []);
        }

        // The bridge's word is on record before the command starts, so it is complete here.
        var outcome = ProxyFaultOutcome.Apply(new RunResult(result.ExitCode, result.Elapsed, result.Warnings, proxy.Records), proxy.Fault);
        return stoppedBeforeStart ? outcome : BridgeOutcome.Apply(outcome, proxy.BridgeReady, proxy.BridgeFailure);
    }

    private void RequireBridge()
    {
        if (bridgeExecutable is null)
        {
            throw new SandboxException(Errors.Errors.BridgeMissing, "the host named none");
        }

        if (!Path.IsPathFullyQualified(bridgeExecutable) || !File.Exists(bridgeExecutable))
        {
            throw new SandboxException(Errors.Errors.BridgeMissing, $"'{bridgeExecutable}' is not an existing file named by an absolute path");
        }

        if (OperatingSystem.IsWindows())
        {
            throw new SandboxException(Errors.Errors.PlatformNotSupported, "Windows");
        }
    }

    /// <summary>Starts the egress proxy of <paramref name="policy"/> on a socket in <paramref name="runtime"/>; whatever keeps it from starting is SBX6003, before anything runs.</summary>
    private EgressProxy StartProxy(SandboxPolicy policy, string runtime, NetworkHooks? hooks)
    {
        var socket = SocketPath(runtime, Bridge.SocketFileName);
        try
        {
            if (proxyHost is not null)
            {
                return proxyHost.Open(policy.Network, socket, hooks);
            }

            return EgressProxy.Start(policy.Network, socket, AddressGuard.ForThisHost(), hooks?.Prompt, hooks?.OnBlocked, hooks?.OnAlways, wording: hooks?.Wording, onConnection: hooks?.OnConnection);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new SandboxException(Errors.Errors.ProxyStartFailed, ex.Message, Path.GetDirectoryName(runtime));
        }
    }

    /// <summary>The path of a unix socket in <paramref name="directory"/>: SBX6003 when it is too long for one.</summary>
    private static string SocketPath(string directory, string name)
    {
        var socket = Path.Combine(directory, name);
        var length = System.Text.Encoding.UTF8.GetByteCount(socket);
        return length <= MaxSocketPathBytes
            ? socket
            : throw new SandboxException(Errors.Errors.ProxyStartFailed,
                $"the path of its socket, '{socket}', is {length} bytes long, and a unix socket's path may have at most {MaxSocketPathBytes}", Path.GetDirectoryName(directory));
    }

    /// <summary>sun_path holds 108 bytes on Linux, the terminating NUL included.</summary>
    private const int MaxSocketPathBytes = 107;

    /// <summary>Where the private directory goes: <c>$XDG_RUNTIME_DIR</c> when it exists, else the temporary directory.</summary>
    private static string RuntimeRoot() =>
        Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg && Directory.Exists(xdg) ? xdg : Path.GetTempPath();

    /// <summary>A fresh directory only the caller can enter, for a socket; SBX6003 when none can be made.</summary>
    private static OwnedDirectory CreatePrivateDirectory()
    {
        var runtimeRoot = RuntimeRoot();
        try
        {
            return OwnedDirectory.Create(runtimeRoot, "dotnet-sandbox-", hexDigits: 12);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException(Errors.Errors.ProxyStartFailed, $"could not create its private directory in '{runtimeRoot}': {ex.Message}", runtimeRoot);
        }
    }
}
