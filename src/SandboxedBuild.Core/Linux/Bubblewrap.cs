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
        using var process = Process.Start(new ProcessStartInfo(bwrap, "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var match = VersionPattern().Match(output);
        return match.Success ? Version.Parse(match.Groups[1].Value) : null;
    }

    [GeneratedRegex(@"(\d+\.\d+\.\d+)")]
    private static partial Regex VersionPattern();
}

