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
    public void A_file_in_another_shape_approves_nothing_and_the_written_shape_is_kept()
    {
        var file = Path.Combine(_dir, "trusted.json");
        var store = TrustStore.Load(file);
        store.Approve("/repo/App.sln", [Feed]);
        var written = File.ReadAllText(file);

        // The format users' files already have: { "approved": { entry: { key: what } } }.
        using (var doc = System.Text.Json.JsonDocument.Parse(written))
        {
            var key = Assert.Single(doc.RootElement.GetProperty("approved").GetProperty("/repo/App.sln").EnumerateObject());
            Assert.Equal((Feed.Key("/repo/App.sln"), Feed.ToString()), (key.Name, key.Value.GetString()));
        }

        // An entry twice (whose approvals would depend on which one a reader keeps), a member the
        // store does not know, a null entry, a key that is not a string's: nothing is approved.
        var entry = written[(written.IndexOf("\"/repo/App.sln\"", StringComparison.Ordinal))..written.LastIndexOf('}')].TrimEnd().TrimEnd('}').TrimEnd();
        File.WriteAllText(file, "{\"approved\":{" + entry + "}}");
        Assert.True(TrustStore.Load(file).IsApproved("/repo/App.sln", Feed), "the entry cut out of the file is not the entry");
        foreach (var damaged in new[]
        {
            "{\"approved\":{" + entry + "," + entry + "}}",
            written.TrimEnd().TrimEnd('}') + ",\"extra\":1}",
            "{\"approved\":{\"/repo/App.sln\":null}}",
            "{\"approved\":{\"/repo/App.sln\":{\"" + Feed.Key("/repo/App.sln") + "\":1}}}",
            "{}",
            "null",
        })
        {
            File.WriteAllText(file, damaged);
            Assert.False(TrustStore.Load(file).IsApproved("/repo/App.sln", Feed), damaged);
        }

        // A null description is still an approval of that key (it is only words).
        File.WriteAllText(file, "{\"approved\":{\"/repo/App.sln\":{\"" + Feed.Key("/repo/App.sln") + "\":null}}}");
        Assert.True(TrustStore.Load(file).IsApproved("/repo/App.sln", Feed));
    }

    [Fact]
    public void The_store_lives_in_the_user_configuration_not_in_a_project()
    {
        Assert.Equal("/home/dev/.config/dotnet-sandbox/trusted.json", TrustStore.PathFor(new Dictionary<string, string>(), "/home/dev"));
        Assert.Equal("/cfg/dotnet-sandbox/trusted.json", TrustStore.PathFor(new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = "/cfg" }, "/home/dev"));
    }
}
