using System.Runtime.InteropServices;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Interop;

/// <summary>
/// Starting a child process the way a shell's job control would and .NET's <c>Process</c> cannot:
/// in its own process group, with default signal dispositions and no blocked signal, its standard
/// descriptors inherited or on <c>/dev/null</c>; and waiting for it, with its status as a shell reports it.
/// </summary>
internal static class ChildProcess
{
    /// <summary>Starts <paramref name="file"/> with default signal dispositions, optionally in its own process group.</summary>
    internal static unsafe int Spawn(string file, IReadOnlyList<string> argv, IEnumerable<string> environment, CommandStreams streams, bool newProcessGroup = true)
    {
        var env = environment.ToList();
        var allocations = new List<nint>();
        byte* Utf8(string s)
        {
            var p = Marshal.StringToCoTaskMemUTF8(s);
            allocations.Add(p);
            return (byte*)p;
        }

        var argvPtr = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(nint));
        var envPtr = (byte**)NativeMemory.AllocZeroed((nuint)(env.Count + 1), (nuint)sizeof(nint));
        var attr = NativeMemory.AllocZeroed(NativeMethods.SpawnAttrSize);
        var defaults = NativeMemory.AllocZeroed(NativeMethods.SigSetSize);
        var mask = NativeMemory.AllocZeroed(NativeMethods.SigSetSize);
        var actions = streams == CommandStreams.Inherited ? null : NativeMemory.AllocZeroed(NativeMethods.FileActionsSize);
        try
        {
            if (streams == CommandStreams.Discarded)
            {
                Check(NativeMethods.posix_spawn_file_actions_init(actions));
                var devNull = Utf8("/dev/null");
                for (var fd = 0; fd <= 2; fd++)
                {
                    Check(NativeMethods.posix_spawn_file_actions_addopen(actions, fd, devNull, NativeMethods.O_RDWR, 0));
                }
            }
            else if (streams == CommandStreams.OutputToStandardError)
            {
                Check(NativeMethods.posix_spawn_file_actions_init(actions));
                Check(NativeMethods.posix_spawn_file_actions_adddup2(actions, 2, 1));
            }

            for (var i = 0; i < argv.Count; i++)
            {
                argvPtr[i] = Utf8(argv[i]);
            }

            for (var i = 0; i < env.Count; i++)
            {
                envPtr[i] = Utf8(env[i]);
            }

            // The runtime ignores SIGPIPE; an ignored disposition survives exec, so reset it (and the
            // job-control signals) to their defaults for the sandbox. No signal stays blocked.
            Check(NativeMethods.sigemptyset(defaults));
            foreach (var sig in new[] { NativeMethods.SIGPIPE, NativeMethods.SIGINT, NativeMethods.SIGQUIT, NativeMethods.SIGTERM, NativeMethods.SIGHUP, 20, 21, 22 })
            {
                Check(NativeMethods.sigaddset(defaults, sig));
            }

            Check(NativeMethods.sigemptyset(mask));
            Check(NativeMethods.posix_spawnattr_init(attr));
            var flags = NativeMethods.POSIX_SPAWN_SETSIGDEF | NativeMethods.POSIX_SPAWN_SETSIGMASK;
            Check(NativeMethods.posix_spawnattr_setflags(attr, (short)(newProcessGroup ? flags | NativeMethods.POSIX_SPAWN_SETPGROUP : flags)));
            Check(NativeMethods.posix_spawnattr_setpgroup(attr, 0));
            Check(NativeMethods.posix_spawnattr_setsigdefault(attr, defaults));
            Check(NativeMethods.posix_spawnattr_setsigmask(attr, mask));

            int pid;
            // A bare name is looked up on PATH (the bridge starts the user's command that way).
            var rc = file.Contains('/', StringComparison.Ordinal)
                ? NativeMethods.posix_spawn(&pid, argvPtr[0], actions, attr, argvPtr, envPtr)
                : NativeMethods.posix_spawnp(&pid, argvPtr[0], actions, attr, argvPtr, envPtr);
            _ = NativeMethods.posix_spawnattr_destroy(attr);
            if (actions is not null)
            {
                _ = NativeMethods.posix_spawn_file_actions_destroy(actions);
            }

            return rc == 0 ? pid : throw new SandboxException(Errors.Errors.SpawnFailed, file, NativeMethods.StrError(rc));
        }
        finally
        {
            allocations.ForEach(Marshal.FreeCoTaskMem);
            NativeMemory.Free(argvPtr);
            NativeMemory.Free(envPtr);
            NativeMemory.Free(attr);
            NativeMemory.Free(defaults);
            NativeMemory.Free(mask);
            NativeMemory.Free(actions);
        }
    }

    private static void Check(int rc)
    {
        if (rc != 0)
        {
            throw new InvalidOperationException("posix_spawn attribute setup failed: " + NativeMethods.StrError(rc));
        }
    }

    internal static unsafe int WaitForExit(int pid)
    {
        int status;
        while (NativeMethods.waitpid(pid, &status, 0) < 0)
        {
            if (Marshal.GetLastPInvokeError() != NativeMethods.EINTR)
            {
                throw new InvalidOperationException("waitpid failed: " + NativeMethods.StrError(Marshal.GetLastPInvokeError()));
            }
        }

        return status;
    }

    /// <summary>Exit code for a normal exit, 128+N for death by signal N, as shells report it.</summary>
    internal static int DecodeWaitStatus(int status)
    {
        var signal = status & 0x7f;
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
    }
}
