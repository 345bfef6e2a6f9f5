using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

public sealed class TrustStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sbx-trust-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ProjectWidening Feed = new(WideningKind.Host, "pkgs.example.com", "source 'internal' in /repo/NuGet.config", [WorkflowStep.Restore]);

    [Fact]
    public void Approvals_persist_per_entry_and_per_request()
    {
        var file = Path.Combine(_dir, "cfg", "trusted.json");
        var store = TrustStore.Load(file);
        Assert.False(store.IsApproved("/repo/App.sln", Feed));
        store.Approve("/repo/App.sln", [Feed]);

        var reloaded = TrustStore.Load(file);
        Assert.True(reloaded.IsApproved("/repo/App.sln", Feed));
        Assert.False(reloaded.IsApproved("/other/App.sln", Feed)); // another project
        Assert.False(reloaded.IsApproved("/repo/App.sln", Feed with { Value = "evil.example.com" })); // another host
        Assert.False(reloaded.IsApproved("/repo/App.sln", Feed with { Origin = "source 'internal' in /repo/sub/NuGet.config" })); // another file asks
        Assert.True(reloaded.IsApproved("/repo/App.sln", Feed with { Steps = [WorkflowStep.Restore, WorkflowStep.Test] })); // the steps do not change what is asked

        Assert.Equal(1, reloaded.Revoke("/repo/App.sln"));
        Assert.False(TrustStore.Load(file).IsApproved("/repo/App.sln", Feed));
    }

    [Fact]
    public void A_damaged_file_approves_nothing()
    {
        var file = Path.Combine(_dir, "trusted.json");
        File.WriteAllText(file, "{ not json");
        Assert.False(TrustStore.Load(file).IsApproved("/repo/App.sln", Feed));
    }

    [Fact]
    public void The_store_lives_in_the_user_configuration_not_in_a_project()
    {
        Assert.Equal("/home/dev/.config/dotnet-sandbox/trusted.json", TrustStore.PathFor(new Dictionary<string, string>(), "/home/dev"));
        Assert.Equal("/cfg/dotnet-sandbox/trusted.json", TrustStore.PathFor(new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = "/cfg" }, "/home/dev"));
    }
}
