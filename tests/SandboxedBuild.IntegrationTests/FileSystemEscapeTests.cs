using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>Attacks on the file system: each plants bait, attempts, and checks the host side.</summary>
public sealed class FileSystemEscapeTests
{
    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Keys_in_the_home_directory_are_not_visible(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Sh(id, ws, $"cat '{ws.Home}/.ssh/id_ed25519'; ls -A \"$HOME\"; ls -A '{ws.Home}/.ssh'");
        Assert.DoesNotContain(ws.Bait, r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("No such file or directory", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("id_ed25519", r.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Sibling_projects_other_homes_and_the_host_tmp_cannot_be_found_by_scanning(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Sh(id, ws, $"cat ../other/secret.txt; grep -rs '{ws.Bait}' /home /root /tmp /var /opt \"$HOME\" ..; ls /home; echo scanned");
        Assert.Contains("scanned", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(ws.Bait, r.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Writes_outside_the_project_do_not_reach_the_host(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var targets = new[]
        {
            Path.Combine(ws.Outside, "escaped.txt"),
            Path.Combine(ws.Home, "src", "Directory.Build.props"),
            Path.Combine(ws.Home, ".bashrc"),
            Path.Combine(ws.Home, ".local", "share", "Microsoft", "MSBuild", "Current", "Microsoft.Common.targets", "ImportBefore", "evil.targets"),
            Path.Combine(ws.Root, "host-tmp-escape.txt"),
            Path.Combine(ws.Home, ".dotnet", "tools", "dotnet-evil"),
            Path.Combine(ws.Home, ".local", "bin", "git"),
            Path.Combine(ws.Home, ".nuget", "NuGet", "NuGet.Config"),
        };
        var script = string.Join("; ", targets.Select(t => $"mkdir -p '{Path.GetDirectoryName(t)}'; echo pwned > '{t}'")) + "; echo x > /usr/evil; echo x > /etc/evil; true";
        _ = Cli.Sh(id, ws, script);
        Assert.All(targets, t => Assert.False(File.Exists(t), t + " was written on the host"));
        Assert.False(File.Exists("/usr/evil") || File.Exists("/etc/evil"));
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void The_packages_folder_cannot_be_modified_or_hard_linked(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var lib = Path.Combine(ws.Packages, "bait.package", "1.0.0", "lib.txt");
        var r = Cli.Sh(id, ws, $"cat '{lib}' && echo poisoned > '{lib}'; ln '{lib}' hardlink && echo linked; mkdir '{ws.Packages}/new.package'; echo done");
        Assert.Contains("original", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("linked", r.StandardOutput, StringComparison.Ordinal);
        Assert.Equal("original", File.ReadAllText(lib));
        Assert.False(Directory.Exists(Path.Combine(ws.Packages, "new.package")));
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Git_hooks_and_config_stay_read_only_even_when_renamed_away(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id, gitRepository: true);
        var config = File.ReadAllText(Path.Combine(ws.Project, ".git", "config"));
        var r = Cli.Sh(id, ws,
            "echo evil > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit; " +
            "echo '[core] hooksPath = /tmp' >> .git/config; git config core.fsmonitor evil; " +
            "mv .git/hooks .git/hooks-old; mv .git .git-old; " +
            "echo evil >> .bashrc; echo evil > .envrc; mkdir -p .vscode && echo '{}' > .vscode/tasks.json; " +
            "echo x > tracked.txt && git add tracked.txt && git -c user.email=a@b -c user.name=a commit -qm x && echo committed; " +
            "rm -rf .git; mkdir -p .git/hooks; echo evil > .git/hooks/pre-push; " +
            "mkdir -p /tmp/evil && echo /tmp/evil > .git/commondir; echo '[core] fsmonitor = evil' > .git/config.worktree; mkdir -p .git/worktrees/x");
        Assert.Contains("committed", r.StandardOutput, StringComparison.Ordinal); // legitimate git work still succeeds
        Assert.False(File.Exists(Path.Combine(ws.Project, ".git", "hooks", "pre-commit")));
        Assert.False(File.Exists(Path.Combine(ws.Project, ".git", "hooks", "pre-push")));
        Assert.False(File.Exists(Path.Combine(ws.Project, ".git", "commondir")));
        Assert.False(File.Exists(Path.Combine(ws.Project, ".git", "config.worktree")));
        Assert.False(Directory.Exists(Path.Combine(ws.Project, ".git", "worktrees", "x")));
        Assert.Contains("SBX4006", r.StandardError, StringComparison.Ordinal); // removals are reported
        Assert.Equal(config, File.ReadAllText(Path.Combine(ws.Project, ".git", "config")));
        Assert.False(Directory.Exists(Path.Combine(ws.Project, ".git-old")));
        Assert.Equal("# the project's own rc file\n", File.ReadAllText(Path.Combine(ws.Project, ".bashrc")));
        Assert.False(File.Exists(Path.Combine(ws.Project, ".envrc")));
        Assert.False(Directory.Exists(Path.Combine(ws.Project, ".vscode")));
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_repository_cannot_be_created_and_placeholders_do_not_stay_behind(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var before = Directory.EnumerateFileSystemEntries(ws.Project).Order().ToList();
        _ = Cli.Sh(id, ws, "git init -q .; mkdir -p .git/hooks; echo evil > .git/hooks/post-checkout; echo evil > .zshrc; true");
        Assert.False(Directory.Exists(Path.Combine(ws.Project, ".git")));
        Assert.Equal(before, Directory.EnumerateFileSystemEntries(ws.Project).Order().ToList());
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Symlinks_planted_in_the_project_lead_nowhere(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        File.CreateSymbolicLink(Path.Combine(ws.Project, "leak"), Path.Combine(ws.Home, ".ssh", "id_ed25519"));
        File.CreateSymbolicLink(Path.Combine(ws.Project, "out"), Path.Combine(ws.Outside, "via-link.txt"));
        ws.FixOwnership();
        var r = Cli.Sh(id, ws, "cat leak; echo pwned > out; ln -s / root-link; cat root-link/etc/shadow; true");
        Assert.DoesNotContain(ws.Bait, r.StandardOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(ws.Outside, "via-link.txt")));
        Assert.DoesNotContain("root:", r.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Capabilities_remounts_and_nested_user_namespaces_are_refused(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Sh(id, ws,
            "mount -o remount,rw /usr 2>/dev/null && echo REMOUNTED; " +
            "mount -t tmpfs none /usr 2>/dev/null && echo MOUNTED; " +
            "unshare -r true 2>/dev/null && echo NESTED; " +
            "grep CapEff /proc/self/status");
        Assert.DoesNotContain("REMOUNTED", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("MOUNTED", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("NESTED", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("CapEff:\t0000000000000000", r.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Host_secrets_under_etc_are_hidden(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var r = Cli.Sh(id, ws, "cat /etc/shadow; ls /etc/ssh; head -c 4 /etc/passwd");
        Assert.DoesNotContain("root:*", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("root:!", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("root:$", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("ssh_host", r.StandardOutput, StringComparison.Ordinal);
        Assert.EndsWith("root", r.StandardOutput.Trim(), StringComparison.Ordinal); // /etc itself stays readable
    }
}
