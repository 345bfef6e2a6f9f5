using BenchmarkDotNet.Attributes;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Policy;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Benchmarks;

/// <summary>
/// What resolving bind sources on the host costs: every path of a real policy resolved component by
/// component (what each run now does before it binds), beside building the whole exec policy.
/// </summary>
/// <remarks>
/// The paths come from <c>SBX_BENCH_PATHS</c> (a file with one path a line, as eng/bench.sh writes
/// from a <c>policy --format json</c> of the multi-project sample), or else from the exec policy of
/// the current directory.
/// </remarks>
[MemoryDiagnoser]
public class PathChecks
{
    private HostFacts _host = null!;
    private string[] _paths = [];
    private List<string> _bound = [];

    [GlobalSetup]
    public void Setup()
    {
        _host = HostFacts.Current();
        var file = Environment.GetEnvironmentVariable("SBX_BENCH_PATHS");
        _paths = file is { Length: > 0 }
            ? [.. File.ReadAllLines(file).Where(l => l.StartsWith('/'))]
            : [.. ExecPolicyBuilder.Build(_host, new ExecOptions(), new List<Diagnostic>()).Paths.Select(r => r.Path)];
        Console.WriteLine($"// {_paths.Length} paths");
        _bound = [];
        try
        {
            _ = BwrapCommandLine.Build(ExecPolicyBuilder.Build(_host, new ExecOptions(), new List<Diagnostic>()), ["true"], _host.FileSystem, bound: _bound);
        }
        catch (SandboxException)
        {
        }

        Console.WriteLine($"// {_bound.Count} paths bound over themselves by exec");
    }

    /// <summary>Every bind source resolved, as a run does before binding.</summary>
    [Benchmark]
    public int ResolveEveryPath()
    {
        var untrusted = 0;
        foreach (var path in _paths)
        {
            untrusted += HostPath.Resolve(_host.FileSystem, path, _host.HomeDirectory).IsUntrusted ? 1 : 0;
        }

        return untrusted;
    }

    /// <summary>The exec policy of the current directory, resolution included: the part of <c>exec -- true</c> before bubblewrap starts.</summary>
    [Benchmark]
    public int BuildExecPolicy()
    {
        try
        {
            return ExecPolicyBuilder.Build(_host, new ExecOptions(), new List<Diagnostic>()).Paths.Length;
        }
        catch (SandboxException)
        {
            return -1;
        }
    }

    /// <summary>The mount check's record of exec's binds, right before the spawn (resolution and a no-follow walk each).</summary>
    [Benchmark]
    public int RecordExecMounts()
    {
        try
        {
            _ = MountCheck.Create().Record(_bound, _host.HomeDirectory, _host.FileSystem);
            return _bound.Count;
        }
        catch (SandboxException)
        {
            return -1;
        }
    }

    /// <summary>
    /// What the mount check then does per run on the host side once the sandbox is set up: one
    /// mountinfo read and a no-follow walk per bind through a /proc root (here this process's own,
    /// where the files are the same).
    /// </summary>
    [Benchmark]
    public int VerifyExecMountsWork()
    {
        var points = File.ReadAllLines("/proc/self/mountinfo").Length;
        foreach (var path in _bound)
        {
            points += NoFollowDirectory.IdentityNoFollow(path, "/proc/self/root") is null ? 0 : 1;
        }

        return points;
    }
}
