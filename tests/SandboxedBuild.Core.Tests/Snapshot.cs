using System.Reflection;
using System.Runtime.CompilerServices;

namespace SandboxedBuild.Core.Tests;

/// <summary>
/// Approved-file snapshots (the Verify library cannot be restored here, so this is the smallest
/// replacement): compares text with <c>Snapshots/NAME.approved.txt</c> of the test project, whichever
/// folder the test is in; on a difference writes <c>NAME.received.txt</c> beside it and fails.
/// Approve by renaming received to approved.
/// </summary>
internal static class Snapshot
{
    public static void Match(string name, string actual, [CallerFilePath] string callerFile = "")
    {
        var dir = Path.Combine(ProjectDirectory(Path.GetDirectoryName(callerFile)!), "Snapshots");
        var approved = Path.Combine(dir, name + ".approved.txt");
        var received = Path.Combine(dir, name + ".received.txt");
        actual = actual.ReplaceLineEndings("\n");
        if (File.Exists(approved) && File.ReadAllText(approved).ReplaceLineEndings("\n") == actual)
        {
            File.Delete(received);
            return;
        }

        Directory.CreateDirectory(dir);
        File.WriteAllText(received, actual);
        Assert.Fail($"Snapshot '{name}' differs from {approved}; see {received}. If the change is intended, approve it by replacing the approved file.");
    }

    /// <summary>The nearest directory, from the test's own up, that holds the test project.</summary>
    private static string ProjectDirectory(string start)
    {
        for (var dir = start; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (Directory.EnumerateFiles(dir, "*.csproj").Any())
            {
                return dir;
            }
        }

        return start;
    }
}
