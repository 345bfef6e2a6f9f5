namespace SandboxedBuild.Policy;

/// <summary>What counts as a git repository, in one place for the policy and for locating a project's tree.</summary>
public static class GitRepository
{
    /// <summary>
    /// Whether <paramref name="git"/> (a <c>.git</c> path) is a repository's directory. Git itself
    /// takes a directory for one only with a HEAD in it; the empty directory a concurrent run makes
    /// to hold the missing name is no repository, even when its lease cannot be read (that run
    /// creating or releasing it at this very moment, or killed between making it and recording it).
    /// </summary>
    public static bool IsRepositoryDirectory(IFileSystem fs, string git)
    {
        ArgumentNullException.ThrowIfNull(fs);
        return fs.DirectoryExists(git) && (fs.FileExists(git + "/HEAD") || fs.LinkTarget(git + "/HEAD") is not null) && !Interop.LockDirectory.IsPlaceholder(git);
    }

    /// <summary>Whether <paramref name="directory"/> is a repository's top: its <c>.git</c> is a repository's directory, or a file pointing at one (a linked worktree, a submodule).</summary>
    public static bool IsTop(IFileSystem fs, string directory)
    {
        ArgumentNullException.ThrowIfNull(fs);
        var git = directory.TrimEnd('/') + "/.git";
        return fs.FileExists(git) || IsRepositoryDirectory(fs, git);
    }
}
