using SandboxedBuild.Policy;

namespace SandboxedBuild.Inference;

/// <summary>
/// The files an inference depends on, found without following links: what the cache is keyed on and
/// what the restore check compares.
/// </summary>
internal static class InferenceInputs
{
    /// <summary>
    /// The files whose contents decide the evaluation: project, solution, props and targets files,
    /// global.json and NuGet configuration in the visible tree (outputs and .git skipped), the NuGet
    /// configuration chain, and the installed SDKs.
    /// </summary>
    internal static List<string> Collect(string entry, string repoRoot, NuGetSettingsSnapshot nuget)
    {
        var inputs = new SortedSet<string>(StringComparer.Ordinal) { entry };
        var stack = new Stack<string>();
        stack.Push(repoRoot);
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            foreach (var info in Entries(dir))
            {
                var name = info.Name;
                var isLink = info.LinkTarget is not null;
                if (info is DirectoryInfo && !isLink)
                {
                    if (!SkippedDirectories.Contains(name))
                    {
                        stack.Push(info.FullName);
                    }
                    else if (name is "obj" or "artifacts")
                    {
                        // What a restore generates is imported by the next evaluation: packages can
                        // bring properties and items (SandboxAllowedHost among them).
                        GeneratedInputs(info.FullName, 3, inputs);
                    }
                }
                else if (info is not DirectoryInfo && IsInputFile(name))
                {
                    // A link among them is kept, and refused when it is hashed (SBX3018): nothing below the
                    // repository that the tool reads may lead elsewhere.
                    inputs.Add(info.FullName);
                }
            }
        }

        inputs.UnionWith(nuget.ConfigFiles.Where(File.Exists));
        return [.. inputs];
    }

    // The entries of a directory, without following links; an unreadable directory has none.
    private static IEnumerable<FileSystemInfo> Entries(string dir)
    {
        try
        {
            return [.. new DirectoryInfo(dir).EnumerateFileSystemInfos()];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    // obj/*.nuget.g.* a few levels down, whatever they are (a link or a FIFO is refused when hashed); linked directories are not entered.
    private static void GeneratedInputs(string dir, int depth, SortedSet<string> inputs)
    {
        foreach (var info in Entries(dir))
        {
            if (info is DirectoryInfo && info.LinkTarget is null)
            {
                if (depth > 0)
                {
                    GeneratedInputs(info.FullName, depth - 1, inputs);
                }
            }
            else if (info.Name.Contains(".nuget.g.", StringComparison.Ordinal))
            {
                inputs.Add(info.FullName);
            }
        }
    }

    private static readonly HashSet<string> SkippedDirectories = new(StringComparer.Ordinal) { ".git", "bin", "obj", "artifacts", "node_modules", "TestResults", ".vs", ".idea", ".vscode" };

    private static bool IsInputFile(string name)
    {
        var ext = Path.GetExtension(name).ToLowerInvariant();
        return ext is ".props" or ".targets" or ".csproj" or ".fsproj" or ".vbproj" or ".proj" or ".sln" or ".slnx" or ".slnf" or ".rsp"
            || name.Equals("global.json", StringComparison.OrdinalIgnoreCase)
            || name.Equals("nuget.config", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Whether an input's link may be followed when it is checked and hashed. Outside the repository
    /// (the user's NuGet configuration, a dotfile) always. Below it, only a link whose real location is
    /// inside the repository: a props file shared by a committed link reaches only what the evaluation
    /// sees anyway, while a link leading out of the repository is what a plant looks like.
    /// </summary>
    internal static bool MayFollowLinks(string path, string repoRoot)
    {
        if (!PathUtil.IsSameOrUnder(path, repoRoot))
        {
            return true;
        }

        var fs = new HostFileSystem();
        if (fs.LinkTarget(path) is null)
        {
            return false;
        }

        var real = HostPath.Resolve(fs, path, "/nonexistent");
        return !real.Loops && PathUtil.IsSameOrUnder(real.Real, HostPath.Resolve(fs, repoRoot, "/nonexistent").Real);
    }
}
