using System.Runtime.InteropServices;

namespace SandboxedBuild.Interop;

/// <summary>
/// The process bound of a sandbox: <c>RLIMIT_NPROC</c>, soft and hard, set with <c>prlimit(2)</c>
/// on the sandbox's first process while bubblewrap holds it on <c>--block-fd</c>, so that the
/// command and everything it starts inherit it and none of them can raise it.
/// </summary>
/// <remarks>
/// Since Linux 5.14 <c>RLIMIT_NPROC</c> counts the processes of a user in one user namespace (its
/// ucounts), and bubblewrap's sandbox lives in a user namespace of its own (two, with
/// <c>--disable-userns</c>): the count is of this sandbox's processes only, not of the caller's
/// others. Raising a hard limit needs <c>CAP_SYS_RESOURCE</c> in the initial namespace, which no
/// sandboxed process has. The kernel does not apply the limit to uid 0 of the initial namespace,
/// and a root caller's sandbox runs as uid 0 there: for root callers the bound is set but does not hold.
/// </remarks>
internal static class ProcessLimit
{
    private const int RLIMIT_NPROC = 6;

    /// <summary>Sets both limits of <paramref name="pid"/> to <paramref name="max"/>; the error text, or <see langword="null"/> on success.</summary>
    public static unsafe string? TrySet(int pid, int max)
    {
        var limit = new NativeMethods.RLimit { Current = (ulong)max, Maximum = (ulong)max };
        if (NativeMethods.prlimit(pid, RLIMIT_NPROC, &limit, null) != 0)
        {
            return "prlimit(" + pid.ToString(System.Globalization.CultureInfo.InvariantCulture) + ", RLIMIT_NPROC): " + NativeMethods.StrError(Marshal.GetLastPInvokeError());
        }

        // Read back: what counts is what the process has now.
        NativeMethods.RLimit seen;
        return NativeMethods.prlimit(pid, RLIMIT_NPROC, null, &seen) == 0 && seen.Current == (ulong)max && seen.Maximum == (ulong)max
            ? null
            : $"the limit did not take (reads {seen.Current}/{seen.Maximum})";
    }

    /// <summary>Whether the real uid of this process is 0.</summary>
    public static bool RealUserIsRoot() => NativeMethods.getuid() == 0;
}
