using System.Runtime.InteropServices;
using SandboxedBuild.Errors;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Linux;

/// <summary>
/// Starts bubblewrap and waits for it: the status and block pipes, posix_spawn in a new process group,
/// the mount check before the command is let go, the relay of stops, and the teardown of a sandbox
/// whose command must never start. Shared by the host's launcher and the supervisor.
/// </summary>
internal static class BwrapSpawn
{
    /// <summary>Starts bubblewrap for <paramref name="site"/>, lets the sandbox go once the site admits it, and waits for its end.</summary>
    public static unsafe (int ExitCode, TimeSpan Elapsed) SpawnAndWait(ISpawnSite site, CommandStreams streams, SignalRelay signals)
    {
        if (signals.StartupSignal is { } early)
        {
            return (SignalRelay.ExitStatusFor(early), TimeSpan.Zero);
        }

        var bwrap = site.Bwrap;
        int* fds = stackalloc int[4];
        if (NativeMethods.pipe(fds) != 0 || NativeMethods.pipe(fds + 2) != 0)
        {
            throw new SandboxException(Errors.Errors.SpawnFailed, bwrap, "pipe: " + NativeMethods.StrError(Marshal.GetLastPInvokeError()));
        }

        // Status: bubblewrap writes, this process reads. Block: bubblewrap waits on its end until
        // this process has checked the mounts and writes the go-ahead.
        int readFd = fds[0], writeFd = fds[1], blockRead = fds[2], blockWrite = fds[3];
        _ = NativeMethods.fcntl(readFd, NativeMethods.F_SETFD, NativeMethods.FD_CLOEXEC);
        _ = NativeMethods.fcntl(blockWrite, NativeMethods.F_SETFD, NativeMethods.FD_CLOEXEC);
        var argv = site.Arguments.ToList();
        argv[argv.IndexOf("--json-status-fd") + 1] = writeFd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (argv.IndexOf(BwrapCommandLine.BlockFdPlaceholder) is var blockAt and >= 0)
        {
            argv[blockAt] = blockRead.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        int pid;
        try
        {
            pid = ChildProcess.Spawn(bwrap, [bwrap, .. argv], site.Environment, streams, newProcessGroup: true);
        }
        catch
        {
            _ = NativeMethods.close(readFd);
            _ = NativeMethods.close(blockWrite);
            throw;
        }
        finally
        {
            _ = NativeMethods.close(writeFd);
            _ = NativeMethods.close(blockRead);
        }

        using var status = new StatusReader(readFd);
        int? sandboxInit = null;
        var verified = false;
        try
        {
            if (WaitForInit(status, signals, TimeSpan.FromSeconds(30)) is { } init)
            {
                sandboxInit = init;
                verified = site.Admit(init, () => status.Ended || signals.StartupSignal is not null);
            }
        }
        catch (SandboxException)
        {
            // The command has not started, and must not: the sandbox's init waits on the block
            // descriptor, and would go on at end of file. So it is killed first, bubblewrap after,
            // and the descriptor closed only once both are gone.
            _ = Abandon(pid, sandboxInit, blockWrite, status);
            throw;
        }

        if (!signals.TryStart(sandboxInit ?? 0, site.CommandDepth, () => status.Ended))
        {
            // A signal came before the command was let go: it never starts (the same teardown as above).
            _ = Abandon(pid, sandboxInit, blockWrite, status);
            return (SignalRelay.ExitStatusFor(signals.StartupSignal!.Value), System.Diagnostics.Stopwatch.GetElapsedTime(start));
        }

        if (!verified)
        {
            // bubblewrap failed before its mounts were in place (it said why on stderr), after
            // reporting the init or before: the command never starts, and its exit status (bubblewrap
            // reports 1 for its own failure) is not passed off as the command's.
            throw Bubblewrap.DiagnoseSetupFailure(bwrap, ChildProcess.DecodeWaitStatus(Abandon(pid, sandboxInit, blockWrite, status)));
        }

        byte go = 1;
        _ = NativeMethods.write(blockWrite, &go, 1);
        _ = NativeMethods.close(blockWrite);
        site.Started(sandboxInit ?? 0);

        int waitStatus;
        try
        {
            waitStatus = ChildProcess.WaitForExit(pid);
        }
        finally
        {
            site.Ended();
            signals.Stop();
            status.Complete();
        }

        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
        return (status.ExitCode ?? ChildProcess.DecodeWaitStatus(waitStatus), elapsed);
    }

    /// <summary>Waits for bubblewrap to report the sandbox's init; <see langword="null"/> when it exited first or a signal came.</summary>
    private static int? WaitForInit(StatusReader status, SignalRelay signals, TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (signals.StartupSignal is null && Environment.TickCount64 < deadline)
        {
            if (status.WaitForChildPid(TimeSpan.FromMilliseconds(50)) is { } init)
            {
                return init;
            }

            if (status.Ended)
            {
                return null;
            }
        }

        return status.ChildPid;
    }

    /// <summary>Stops a sandbox whose command has not been let go; it must never start.</summary>
    private static int Abandon(int bwrapPid, int? sandboxInit, int blockWrite, StatusReader status)
    {
        // The sandbox's init waits on the block descriptor, and would go on at end of file. So it is
        // killed first, bubblewrap after, and the descriptor closed only once both are gone.
        if (sandboxInit is { } init)
        {
            _ = NativeMethods.kill(init, NativeMethods.SIGKILL);
        }

        _ = NativeMethods.kill(bwrapPid, NativeMethods.SIGKILL);
        var waitStatus = ChildProcess.WaitForExit(bwrapPid);
        _ = NativeMethods.close(blockWrite);
        status.Complete();
        return waitStatus;
    }
}
