using System.Diagnostics;
using System.Text.RegularExpressions;
using SandboxedBuild.Errors;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Linux;

/// <summary>Finds bubblewrap on the host and reads its version.</summary>
public static partial class Bubblewrap
{
    /// <summary>The path of <c>bwrap</c> on the caller's PATH, or <see langword="null"/>.</summary>
    public static string? Find(IReadOnlyDictionary<string, string> variables, IFileSystem fs)
    {
        var path = variables.TryGetValue("PATH", out var p) ? p : "/usr/bin:/bin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "bwrap");
            if (fs.IsExecutableFile(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Finds bubblewrap or throws the coded error that says how to install it.</summary>
    public static string Require(IReadOnlyDictionary<string, string> variables, IFileSystem fs) =>
        Find(variables, fs) ?? throw new SandboxException(Errors.Errors.BubblewrapMissing);

    /// <summary>Runs <c>bwrap --version</c>; <see langword="null"/> when the output is not understood.</summary>
    public static Version? GetVersion(string bwrap)
    {
        string output;
        try
        {
            using var process = Process.Start(new ProcessStartInfo(bwrap, "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }

        var match = VersionPattern().Match(output);
        return match.Success ? Version.Parse(match.Groups[1].Value) : null;
    }

    /// <summary>Tries to create a user namespace; <see langword="null"/> on success, else bubblewrap's complaint.</summary>
    public static string? ProbeUserNamespace(string bwrap)
    {
        var psi = new ProcessStartInfo(bwrap) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--unshare-user", "--unshare-net", "--ro-bind", "/", "/", "--", "true" })
        {
            psi.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(psi)!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : error.Trim();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"could not start {bwrap}: {ex.Message}";
        }
    }

    /// <summary>
    /// Explains why bubblewrap could not set a sandbox up, for the failure path only: too old,
    /// no user namespaces, or something else (bubblewrap's own message is already on stderr).
    /// </summary>
    public static SandboxException DiagnoseSetupFailure(string bwrap, int status)
    {
        var version = GetVersion(bwrap);
        if (version is not null && version < BwrapCommandLine.MinimumVersion)
        {
            return new SandboxException(Errors.Errors.BubblewrapTooOld, version, BwrapCommandLine.MinimumVersion);
        }

        return ProbeUserNamespace(bwrap) is { } complaint
            ? NamespaceFailure(bwrap, complaint)
            : new SandboxException(Errors.Errors.SandboxSetupFailed, status);
    }

    /// <summary>
    /// The coded error for bubblewrap's complaint when it could not set up a user namespace: the
    /// AppArmor restriction of Ubuntu 23.10 and later, or user namespaces that are off.
    /// </summary>
    /// <remarks>
    /// The texts are bubblewrap's own (bubblewrap.c and network.c). Under
    /// <c>kernel.apparmor_restrict_unprivileged_userns=1</c> the namespace is created, but without
    /// capabilities in it, so the first privileged step fails: writing the uid or gid map, or
    /// configuring the loopback device of a new network namespace. When user namespaces are off,
    /// clone(2) itself fails with EPERM, EINVAL or ENOSPC, each with its own message.
    /// </remarks>
    internal static SandboxException NamespaceFailure(string bwrap, string complaint)
    {
        if (AppArmorSymptoms.Any(s => complaint.Contains(s, StringComparison.Ordinal)))
        {
            var sysctl = ReadSysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
            var state = sysctl is null ? "not readable here" : "= " + sysctl + " here";
            return new SandboxException(Errors.Errors.AppArmorUserNamespaceRestricted, complaint, state, RealPath(bwrap));
        }

        return new SandboxException(Errors.Errors.UserNamespacesUnavailable, complaint);
    }

    // bubblewrap's messages when the namespace exists but grants no capabilities (AppArmor's restriction).
    private static readonly string[] AppArmorSymptoms =
    [
        "setting up uid map: Permission denied",
        "setting up gid map: Permission denied",
        "error writing to setgroups: Permission denied",
        "loopback: Failed RTM_NEWADDR: Operation not permitted",
    ];

    private static string? ReadSysctl(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // An AppArmor profile attaches to the executable's real path, not to a link to it.
    private static string RealPath(string path)
    {
        try
        {
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(path);
        }
        catch (IOException)
        {
            return path;
        }
    }

    [GeneratedRegex(@"(\d+\.\d+\.\d+)")]
    private static partial Regex VersionPattern();
}

