using System.Globalization;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Interop;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Core.Tests;

/// <summary>The flock-based pieces that keep concurrent runs apart: lock files, the shared placeholders, private directories with owner locks.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ConcurrencyLockTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sbx-locks-").FullName;

    public ConcurrencyLockTests()
    {
        Locks = LockDirectory.Ensure(Path.Combine(_root, "locks"));
        Work = Directory.CreateDirectory(Path.Combine(_root, "work")).FullName;
    }

    private string Locks { get; }

    private string Work { get; }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Shared_locks_coexist_and_keep_an_exclusive_one_out_until_the_last_is_closed()
    {
        var path = Path.Combine(Locks, "x.lock");
        using var a = LockFile.Open(path, create: true)!;
        using var b = LockFile.Open(path, create: false)!;
        using var c = LockFile.Open(path, create: false)!;
        Assert.True(a.TryLock(exclusive: false));
        Assert.True(b.TryLock(exclusive: false));
        Assert.False(c.TryLock(exclusive: true));
        a.Dispose();
        Assert.False(c.TryLock(exclusive: true));
        b.Dispose();
        Assert.True(c.TryLock(exclusive: true));
        Assert.False(LockFile.Open(path, create: false)!.TryLock(exclusive: false));
    }

    [Fact]
    public void A_link_in_place_of_a_lock_file_is_refused_and_what_it_points_to_untouched()
    {
        var target = Path.Combine(Work, "target");
        File.WriteAllText(target, "keep");
        File.CreateSymbolicLink(Path.Combine(Locks, "x.lock"), target);
        Assert.Throws<IOException>(() => LockFile.Open(Path.Combine(Locks, "x.lock"), create: true));
        Assert.Null(LockFile.Open(Path.Combine(Locks, "missing.lock"), create: false));
        Assert.Equal("keep", File.ReadAllText(target));
    }

    [Fact]
    public void The_lock_directory_must_be_a_private_directory_not_a_link()
    {
        var open = Directory.CreateDirectory(Path.Combine(_root, "open")).FullName;
        File.SetUnixFileMode(open, (UnixFileMode)Convert.ToInt32("755", 8));
        Assert.Equal("SBX4011", Assert.Throws<SandboxException>(() => LockDirectory.Ensure(open)).Error.Code);
        var link = Path.Combine(_root, "link");
        File.CreateSymbolicLink(link, Locks);
        Assert.Contains("symbolic link", Assert.Throws<SandboxException>(() => LockDirectory.Ensure(link)).Message, StringComparison.Ordinal);
        Assert.Equal(Convert.ToInt32("700", 8), (int)File.GetUnixFileMode(Locks));
    }

    [Fact]
    public void A_placeholder_is_made_by_the_first_run_and_removed_by_the_last()
    {
        var envrc = Path.Combine(Work, ".envrc");
        var vscode = Path.Combine(Work, ".vscode");
        var first = PlaceholderLease.Acquire([(envrc, false), (vscode, true)], [], Locks);
        Assert.True(File.Exists(envrc) && Directory.Exists(vscode));
        Assert.True(PlaceholderLease.IsPlaceholder(envrc, Locks));

        // The second run finds them existing: it joins them instead of failing or making new ones.
        var second = PlaceholderLease.Acquire([(envrc, false), (vscode, true)], [], Locks);
        Assert.Equal([envrc, vscode], second.Paths.Order(StringComparer.Ordinal));
        first.Dispose();
        Assert.True(File.Exists(envrc) && Directory.Exists(vscode), "removed while another run still binds it");
        second.Dispose();
        Assert.False(File.Exists(envrc) || Directory.Exists(vscode));
        Assert.Empty(Directory.EnumerateFiles(Locks, "ph-*"));
    }

    [Fact]
    public void A_real_file_is_neither_joined_nor_removed()
    {
        var real = Path.Combine(Work, ".envrc");
        File.WriteAllText(real, "the user's own");
        using (var lease = PlaceholderLease.Acquire([(real, false)], [], Locks))
        {
            Assert.Empty(lease.Paths);
        }

        Assert.Equal("the user's own", File.ReadAllText(real));
        Assert.False(PlaceholderLease.IsPlaceholder(real, Locks));
        Assert.Empty(Directory.EnumerateFiles(Locks, "ph-*"));
    }

    [Fact]
    public void A_run_holds_what_is_there_at_its_lease_not_what_was_there_when_its_policy_was_read()
    {
        // The race behind SBX4009 in the 32-exec test: run A reads its policy while run B's
        // placeholder is at .bash_login, then B ends and removes it, then A leases. A that went by its
        // first look held nothing there, bound the name all the same, and found it vanished (or, had
        // a third run made it again, would have had its bind detached when that run ended).
        var fs = new HostFileSystem();
        var name = Path.Combine(Work, ".bash_login");
        var dir = Path.Combine(Work, ".vscode");
        var policy = new SandboxPolicy(Work, [
            new PathRule(Work, PathAccess.ReadWrite, "the working directory"),
            new PathRule(name, PathAccess.Protected, "shell startup file", PathKind.File),
            new PathRule(dir, PathAccess.Protected, "editor tasks")], [], Network.NetworkPolicy.None);
        var b = Leftovers.HoldPlaceholders(policy, fs, p => p, Locks, []);
        Assert.Equal([name, dir], b.Paths.Order(StringComparer.Ordinal));

        var bound = new List<string>();
        _ = BwrapCommandLine.Build(policy, ["/bin/true"], fs, bound: bound); // A's command line, while B's are there
        Assert.Contains(name, bound);
        b.Dispose();
        Assert.False(Path.Exists(name) || Path.Exists(dir));

        using (var a = Leftovers.HoldPlaceholders(policy, fs, p => p, Locks, []))
        {
            Assert.Equal([name, dir], a.Paths.Order(StringComparer.Ordinal));
            _ = MountCheck.Create().Record(bound, "/nonexistent", fs); // SBX4009 when the name was not held

            // A third run joins A's; its end does not take them from A.
            Leftovers.HoldPlaceholders(policy, fs, p => p, Locks, []).Dispose();
            Assert.True(File.Exists(name) && Directory.Exists(dir));
        }

        Assert.False(Path.Exists(name) || Path.Exists(dir));
        Assert.Empty(Directory.EnumerateFiles(Locks, "ph-*"));
    }

    [Fact]
    public void An_empty_entry_of_another_user_at_a_protected_name_is_refused_not_bound()
    {
        // It may be the placeholder of that user's sandbox, whose lease this user cannot share.
        Assert.SkipUnless(NativeMethods.geteuid() == 0, "making a file of another user needs root");
        var theirs = Path.Combine(Work, ".envrc");
        var dir = Path.Combine(Work, ".vscode");
        var full = Path.Combine(Work, ".bashrc");
        File.WriteAllText(theirs, string.Empty);
        Directory.CreateDirectory(dir);
        File.WriteAllText(full, "a real file of theirs");
        foreach (var path in new[] { theirs, dir, full })
        {
            Chown(path, "65534:65534");
        }

        var e = Assert.Throws<PlaceholderLease.Failure>(() => PlaceholderLease.Acquire([(theirs, false)], [], Locks));
        Assert.Equal(theirs, e.Real);
        Assert.Contains("empty file of user 65534", e.Message, StringComparison.Ordinal);
        Assert.Contains("empty directory of user 65534", Assert.Throws<PlaceholderLease.Failure>(() => PlaceholderLease.Acquire([(dir, true)], [], Locks)).Message, StringComparison.Ordinal);

        // Not empty: no placeholder; bound as it is, not held. And the caller's own empty file is the caller's.
        using (var lease = PlaceholderLease.Acquire([(full, false)], [], Locks))
        {
            Assert.Empty(lease.Paths);
        }

        Chown(theirs, "0:0");
        using (var lease = PlaceholderLease.Acquire([(theirs, false)], [], Locks))
        {
            Assert.Empty(lease.Paths);
        }

        Assert.True(File.Exists(theirs) && Directory.Exists(dir) && File.Exists(full));
        Assert.Empty(Directory.EnumerateFiles(Locks, "ph-*"));
    }

    [Fact]
    public void What_a_killed_run_left_is_swept_only_when_no_one_holds_it_and_only_as_it_was_made()
    {
        var left = Path.Combine(Work, ".envrc");
        var replaced = Path.Combine(Work, ".bashrc");
        var held = Path.Combine(Work, ".zshrc");
        PlantDeadPlaceholder(left, directory: false);
        PlantDeadPlaceholder(replaced, directory: false);
        File.Delete(replaced);
        File.WriteAllText(replaced, "a real file took its place");
        var removed = new List<string>();
        using var live = PlaceholderLease.Acquire([(held, false)], removed, Locks); // sweeps first
        PlaceholderLease.Sweep(Locks, removed); // and a sweep while it lives leaves it alone
        Assert.Equal([left], removed);
        Assert.False(File.Exists(left));
        Assert.Equal("a real file took its place", File.ReadAllText(replaced));
        Assert.True(File.Exists(held));
        Assert.Single(Directory.EnumerateFiles(Locks, "ph-*"));
    }

    [Fact]
    public void A_dead_placeholder_with_something_inside_is_not_emptied()
    {
        var dir = Path.Combine(Work, ".vscode");
        PlantDeadPlaceholder(dir, directory: true);
        File.WriteAllText(Path.Combine(dir, "tasks.json"), "{}");
        PlaceholderLease.Sweep(Locks, []);
        Assert.True(File.Exists(Path.Combine(dir, "tasks.json")));
    }

    [Fact]
    public void A_private_directory_is_swept_once_its_owner_is_gone_never_while_it_lives()
    {
        var live = OwnedDirectory.Create(Work, "dotnet-sandbox-eval-");
        File.WriteAllText(Path.Combine(live.Path, "answer"), "x");
        Assert.Empty(OwnedDirectory.SweepStale(Work));
        Assert.True(File.Exists(Path.Combine(live.Path, "answer")));

        // Dead: an owner file no one holds, and inside, a link to something that must survive.
        var outside = Path.Combine(_root, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "keep"), "keep");
        var dead = Path.Combine(Work, "dotnet-sandbox-0123456789abcdef");
        Directory.CreateDirectory(Path.Combine(dead, "sub"));
        File.CreateSymbolicLink(Path.Combine(dead, "sub", "out"), outside);
        File.WriteAllText(dead + ".owner", string.Empty);

        // Named like one, but a link (with an owner file no one holds), and one without an owner file.
        var link = Path.Combine(Work, "dotnet-sandbox-run-fedcba9876543210");
        File.CreateSymbolicLink(link, outside);
        File.WriteAllText(link + ".owner", string.Empty);
        var ownerless = Directory.CreateDirectory(Path.Combine(Work, "dotnet-sandbox-aaaaaaaaaaaa")).FullName;

        Assert.Equal([dead], OwnedDirectory.SweepStale(Work));
        Assert.False(Directory.Exists(dead) || File.Exists(dead + ".owner"));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(outside, "keep")));
        Assert.Equal(outside, new FileInfo(link).LinkTarget);
        Assert.True(Directory.Exists(ownerless));
        Assert.True(File.Exists(Path.Combine(live.Path, "answer")));

        live.Dispose();
        Assert.False(Directory.Exists(live.Path) || File.Exists(live.Path + ".owner"));
    }

    [Fact]
    public void Concurrent_leases_of_the_same_names_from_many_threads_never_lose_a_placeholder_in_use()
    {
        var names = new[] { (Path.Combine(Work, ".envrc"), false), (Path.Combine(Work, ".git"), true), (Path.Combine(Work, ".git", "config"), false) };
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            try
            {
                using var lease = PlaceholderLease.Acquire(names, [], Locks);
                Thread.Sleep(i % 5);
                foreach (var (path, _) in names)
                {
                    if (!Path.Exists(path))
                    {
                        failures.Add(path + " vanished while held");
                    }
                }
            }
            catch (IOException ex)
            {
                failures.Add(ex.Message);
            }
        });

        Assert.Empty(failures);
        Assert.False(Path.Exists(names[0].Item1) || Path.Exists(names[1].Item1));
        Assert.Empty(Directory.EnumerateFiles(Locks, "ph-*"));
    }

    private static void Chown(string path, string owner)
    {
        using var chown = System.Diagnostics.Process.Start("chown", [owner, path])!;
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
    }

    /// <summary>A placeholder and its record, as a run that was then killed leaves them: no one holds the lock file.</summary>
    private void PlantDeadPlaceholder(string path, bool directory)
    {
        if (directory)
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            File.WriteAllText(path, string.Empty);
        }

        var id = NoFollowDirectory.IdentityNoFollow(path)!.Value;
        var born = NativeMethods.SizeAndBirth(path)!.Value;
        using var file = LockFile.Open(LockDirectory.FileFor(Locks, "ph-", path), create: true)!;
        file.Write(string.Create(CultureInfo.InvariantCulture, $"placeholder v1\n{(directory ? "d" : "f")} {id.Inode} {id.DevMajor} {id.DevMinor} {born.BirthSeconds} {born.BirthNanoseconds}\n{path}\n"));
    }
}
