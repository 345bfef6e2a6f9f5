using System.Text;
using System.Text.Json;

namespace SandboxedBuild.Linux;

/// <summary>Reads bubblewrap's <c>--json-status-fd</c> stream on a background thread.</summary>
internal sealed class StatusReader : IDisposable
{
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _started = new();
    private volatile int _childPid;
    private volatile bool _ended;
    private volatile int _exitCode = -1;

    public StatusReader(int fd)
    {
        var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        _thread = new Thread(() => Read(handle)) { IsBackground = true, Name = "bwrap-status" };
        _thread.Start();
    }

    public int? ChildPid => _childPid > 0 ? _childPid : null;

    public int? ExitCode => _exitCode >= 0 ? _exitCode : null;

    /// <summary>Whether bubblewrap closed the stream (it has exited).</summary>
    public bool Ended => _ended;

    /// <summary>Waits until bubblewrap reported the sandbox's init, or the stream ended.</summary>
    public int? WaitForChildPid(TimeSpan timeout)
    {
        _started.Wait(timeout);
        return ChildPid;
    }

    public void Complete() => _thread.Join(TimeSpan.FromSeconds(5));

    public void Dispose() => _started.Dispose();

    private void Read(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        using var stream = new FileStream(handle, FileAccess.Read, 1);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("child-pid", out var pid))
                {
                    _childPid = pid.GetInt32();
                    _started.Set();
                }

                if (doc.RootElement.TryGetProperty("exit-code", out var code))
                {
                    _exitCode = code.GetInt32();
                }
            }
            catch (JsonException)
            {
                // Not ours to interpret; bubblewrap writes one object per line.
            }
        }

        _ended = true;
        _started.Set();
    }
}
