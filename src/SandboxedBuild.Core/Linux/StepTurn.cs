using SandboxedBuild.Interop;

namespace SandboxedBuild.Linux;

/// <summary>
/// Turns for the steps that write a repository's <c>obj/</c> and <c>bin/</c> (restore, build): one
/// at a time per repository, through an exclusive <c>flock</c> on a lock file in the caller's
/// <see cref="LockDirectory"/> named by the repository's path. Two restores of one project at once
/// would each read what the other is half-way through writing (<c>project.assets.json</c>, the
/// generated props); in turn, each sees the other's finished result. The lock goes with the process.
/// </summary>
public sealed class StepTurn : IDisposable
{
    private readonly LockFile? _lock;

    private StepTurn(LockFile? held) => _lock = held;

    /// <summary>Waits for the turn of <paramref name="repositoryRoot"/>; <paramref name="onWait"/> is told once if another run has it.</summary>
    /// <exception cref="Errors.SandboxException">SBX4011: the lock directory is not the caller's private one.</exception>
    public static StepTurn Take(string repositoryRoot, Action onWait)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new StepTurn(null);
        }

        var file = LockFile.Open(LockDirectory.FileFor(LockDirectory.Ensure(), "step-", repositoryRoot), create: true)!;
        try
        {
            if (!file.TryLock(exclusive: true))
            {
                onWait();
                file.Lock(exclusive: true);
            }

            return new StepTurn(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Gives the turn up (the lock file stays: unlinking a lock file others may wait on would let two runs hold it at once).</summary>
    public void Dispose() => _lock?.Dispose();
}
