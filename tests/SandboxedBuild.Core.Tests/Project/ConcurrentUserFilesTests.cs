using SandboxedBuild.Network;
using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

/// <summary>Approvals and saved hosts written at the same moment by many runs: none is lost.</summary>
public sealed class ConcurrentUserFilesTests : IDisposable
{
    private const int Writers = 24;
    private readonly string _dir = Directory.CreateTempSubdirectory("sbx-userfiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Concurrent_approvals_of_different_hosts_are_all_kept()
    {
        var file = Path.Combine(_dir, "cfg", "trusted.json");
        TrustStore.Load(file).Approve("/repo/App.sln", [Widening(999)]);

        // Each writer read the store before any other saved: a plain write-back would keep only the last.
        var stores = Enumerable.Range(0, Writers).Select(_ => TrustStore.Load(file)).ToList();
        Parallel.For(0, Writers, new ParallelOptions { MaxDegreeOfParallelism = Writers }, i => stores[i].Approve(i % 2 == 0 ? "/repo/App.sln" : "/other/App.sln", [Widening(i)]));

        var reloaded = TrustStore.Load(file);
        Assert.All(Enumerable.Range(0, Writers), i => Assert.True(reloaded.IsApproved(i % 2 == 0 ? "/repo/App.sln" : "/other/App.sln", Widening(i)), $"approval {i} lost"));
        Assert.True(reloaded.IsApproved("/repo/App.sln", Widening(999)));
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(file)!, "*.tmp"));

        // A revoke is made to the file as it is now, too.
        Assert.Equal(Writers / 2 + 1, stores[0].Revoke("/repo/App.sln"));
        Assert.True(TrustStore.Load(file).IsApproved("/other/App.sln", Widening(1)));
    }

    [Fact]
    public void Concurrent_saved_hosts_are_all_kept_once_each()
    {
        var file = Path.Combine(_dir, "cfg", "allowed-hosts");
        Parallel.For(0, Writers, new ParallelOptions { MaxDegreeOfParallelism = Writers }, i =>
        {
            UserHostsFile.Append(file, HostRule.Parse($"h{i}.example.com", "test", "test"));
            UserHostsFile.Append(file, HostRule.Parse($"h{i}.example.com", "test", "test"));
        });

        var hosts = UserHostsFile.Load(file).Select(r => r.ToString()).ToList();
        Assert.Equal(Enumerable.Range(0, Writers).Select(i => $"h{i}.example.com").Order(StringComparer.Ordinal), hosts.Order(StringComparer.Ordinal));
    }

    private static ProjectWidening Widening(int i) => new(WideningKind.Host, $"h{i}.example.com", "source 'internal' in /repo/NuGet.config", [WorkflowStep.Restore]);
}
