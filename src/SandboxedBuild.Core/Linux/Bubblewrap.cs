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
            ? new SandboxException(Errors.Errors.UserNamespacesUnavailable, complaint)
            : new SandboxException(Errors.Errors.SandboxSetupFailed, status);
    }

    [GeneratedRegex(@"(\d+\.\d+\.\d+)")]
    private static partial Regex VersionPattern();
}

