namespace SandboxedBuild.IntegrationTests.Infrastructure;

/// <summary>
/// A fresh host layout per test, under the host's /tmp: a home directory with planted secrets, a
/// project in it, a sibling project, a packages folder and a directory outside everything. The
/// tool is run with HOME pointing at this home, so what the sandbox must hide is bait we planted.
/// </summary>
public sealed class Workspace : IDisposable
{
    public Workspace(Identity identity, bool gitRepository = false)
    {
        Identity = identity;
        Bait = "BAIT-" + Guid.NewGuid().ToString("N");
        Root = Path.Combine(Path.GetTempPath(), "sbx-it-" + Guid.NewGuid().ToString("N")[..12]);
        Home = Path.Combine(Root, "home");
        Project = Path.Combine(Home, "src", "app");
        Sibling = Path.Combine(Home, "src", "other");
        Outside = Path.Combine(Root, "outside");
        Packages = Path.Combine(Home, ".nuget", "packages");

        Directory.CreateDirectory(Project);
        Directory.CreateDirectory(Sibling);
        Directory.CreateDirectory(Outside);
        Directory.CreateDirectory(Path.Combine(Packages, "bait.package", "1.0.0"));
        Directory.CreateDirectory(Path.Combine(Home, ".ssh"));
        File.WriteAllText(Path.Combine(Home, ".ssh", "id_ed25519"), Bait);
        File.WriteAllText(Path.Combine(Sibling, "secret.txt"), Bait);
        File.WriteAllText(Path.Combine(Root, "host-tmp-secret.txt"), Bait);
        File.WriteAllText(Path.Combine(Packages, "bait.package", "1.0.0", "lib.txt"), "original");
        File.WriteAllText(Path.Combine(Project, "Program.cs"), "// project file\n");
        if (gitRepository)
        {
            var init = Cli.Exec("git", "init", "-q", Project);
            Assert.True(init.ExitCode == 0, init.ToString());
            File.WriteAllText(Path.Combine(Project, ".bashrc"), "# the project's own rc file\n");
        }

        FixOwnership();
    }

    public Identity Identity { get; }

    /// <summary>A string planted in every secret; it must never show up in the sandbox's output.</summary>
    public string Bait { get; }

    public string Root { get; }

    public string Home { get; }

    public string Project { get; }

    public string Sibling { get; }

    public string Outside { get; }

    public string Packages { get; }

    /// <summary>Gives the tree to the identity that will run the tool.</summary>
    public void FixOwnership()
    {
        File.SetUnixFileMode(Root, (UnixFileMode)Convert.ToInt32("755", 8));
        if (Cli.IdsFor(Identity) is { } ids)
        {
            var chown = Cli.Exec("chown", "-R", $"{ids.Uid}:{ids.Gid}", Root);
            Assert.True(chown.ExitCode == 0, chown.ToString());
        }
    }

    /// <summary>The environment the tool is started with: a normal one, plus secrets that must not pass.</summary>
    public Dictionary<string, string> Environment(IDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["HOME"] = Home,
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["LANG"] = "C.UTF-8",
            ["USER"] = Identity == Identity.Unprivileged && Cli.IsRoot ? Cli.UnprivilegedUser : System.Environment.UserName,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["GITHUB_TOKEN"] = Bait,
            ["AWS_SECRET_ACCESS_KEY"] = Bait,
            ["NUGET_API_KEY"] = Bait,
            ["SSH_AUTH_SOCK"] = Path.Combine(Root, "agent.sock"),
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            env[k] = v;
        }

        return env;
    }

    public void Dispose() => Cli.TryDelete(Root);
}
