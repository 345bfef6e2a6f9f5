using BenchmarkDotNet.Attributes;
using SandboxedBuild.Errors;
using SandboxedBuild.Policy;

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

    [GlobalSetup]
    public void Setup()
    {
        _host = HostFacts.Current();
        var file = Environment.GetEnvironmentVariable("SBX_BENCH_PATHS");
        _paths = file is { Length: > 0 }
            ? [.. File.ReadAllLines(file).Where(l => l.StartsWith('/'))]
            : [.. ExecPolicyBuilder.Build(_host, new ExecOptions(), new List<string>()).Paths.Select(r => r.Path)];
        Console.WriteLine($"// {_paths.Length} paths");
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
            return ExecPolicyBuilder.Build(_host, new ExecOptions(), new List<string>()).Paths.Length;
        }
        catch (SandboxException)
        {
            return -1;
        }
    }
}
