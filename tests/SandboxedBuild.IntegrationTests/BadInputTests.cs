using SandboxedBuild.IntegrationTests.Infrastructure;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// Bad input on the command line: each value is answered by its coded error (exit 125, the code on
/// stderr, no stack trace) before anything runs, checked on the host (the command's marker file is
/// not there, no restore was started, no obj/ was written); and each is paired with the legitimate
/// variant that must work (a path with a space, the real location of a linked project).
/// </summary>
[Collection(nameof(DotnetBuildTests))]
public sealed class BadInputTests
{
    /// <summary>The command each refused exec would have run: it leaves a file on the host.</summary>
    private const string Marker = "ran.txt";

    private static readonly (string[] Options, string Code)[] BadExecOptions =
    [
        (["--allow-write", ""], "SBX1014"),
        (["--allow-read", " "], "SBX1014"),
        (["--allow-host", ""], "SBX1014"),
        (["--deny-host", "\t "], "SBX1014"),
        (["--setenv", ""], "SBX1014"),
        (["--env", ""], "SBX1014"),
        (["--preset", ""], "SBX1014"),
        (["--workdir", ""], "SBX1014"),
        (["--setenv", "FOO"], "SBX1007"),
        (["--allow-read", "data\nwrite /"], "SBX1015"),
        (["--allow-write", "out\u001b[2J"], "SBX1015"),
        (["--allow-read", "~/data"], "SBX1016"),
        (["--allow-read", "~root"], "SBX1016"),
        (["--workdir", "~"], "SBX1016"),
        (["--allow-read", "caf\uFFFD"], "SBX1017"),
        (["--allow-read", "does not exist"], "SBX3001"),
        (["--tmpfs-size", ""], "SBX1013"),
        (["COMMAND", ""], "SBX1014"),
        (["COMMAND", "/bin/sh\n"], "SBX1015"),
    ];

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Every_bad_exec_option_is_refused_with_its_code_and_nothing_runs(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var failures = new List<string>();
        foreach (var (options, code) in BadExecOptions)
        {
            string[] command = options[0] == "COMMAND" ? [options[1], "-c", "echo ran > " + Marker] : ["/bin/sh", "-c", "echo ran > " + Marker];
            string[] given = options[0] == "COMMAND" ? [] : options;
            var r = Cli.Run(id, ws, ["exec", .. given, "--", .. command]);
            if (r.ExitCode != 125 || !r.StandardError.Contains(code + ":", StringComparison.Ordinal) || !r.StandardError.Contains("hint:", StringComparison.Ordinal)
                || r.StandardError.Contains("   at ", StringComparison.Ordinal) || File.Exists(Path.Combine(ws.Project, Marker)))
            {
                failures.Add($"{Cli.ShellLine(options)} (expected {code}): {r}");
            }

            // The value is shown escaped: no raw control byte reaches the terminal.
            if (r.StandardError.Contains('\u001b', StringComparison.Ordinal) || r.StandardError.Contains("data\nwrite", StringComparison.Ordinal))
            {
                failures.Add($"{Cli.ShellLine(options)}: a control character was printed raw: {r}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        Assert.False(File.Exists(Path.Combine(ws.Project, Marker)));

        // The same command with nothing wrong runs.
        var legit = Cli.Run(id, ws, ["exec", "--", "/bin/sh", "-c", "echo ran > " + Marker]);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.Equal("ran\n", File.ReadAllText(Path.Combine(ws.Project, Marker)));
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Paths_with_spaces_and_quotes_work_relative_ones_are_resolved_against_the_working_directory_and_said_so(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        var spaced = Directory.CreateDirectory(Path.Combine(ws.Project, "out dir")).FullName;
        var quoted = Directory.CreateDirectory(Path.Combine(ws.Outside, "it's \"data\"")).FullName;
        File.WriteAllText(Path.Combine(quoted, "in.txt"), "input\n");
        ws.FixOwnership();

        var policy = Cli.Run(id, ws, ["exec", "--allow-write", "out dir", "--allow-read", quoted, "--print-policy", "--", "true"]);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        Assert.Contains($"--allow-write on the command line (given as 'out dir', resolved against the working directory '{ws.Project}')", policy.StandardOutput, StringComparison.Ordinal);

        var r = Cli.Run(id, ws, ["exec", "--allow-write", "out dir", "--allow-read", quoted, "--", "/bin/sh", "-c", "cat \"$1/in.txt\" > 'out dir/copy.txt'", "sh", quoted]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("input\n", File.ReadAllText(Path.Combine(spaced, "copy.txt")));
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_working_directory_with_a_newline_or_bytes_that_are_not_UTF8_is_refused_and_nothing_runs(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        // Names that cannot pass through .NET's strings: made by bash, and the tool started inside them.
        string Script(string name) =>
            $"cd \"$1\" && shift && mkdir -p {name} && chmod 777 {name} && cd {name} && " +
            "exec env -i HOME=\"$HOME_DIR\" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \"$@\"";
        CliResult Start(string name) => Cli.Exec("/bin/bash",
            ["-c", $"export HOME_DIR='{ws.Home}'; " + Script(name), "bash", ws.Project, .. Cli.CommandLine(id, ["exec", "--", "/bin/sh", "-c", "echo ran > " + Marker])]);
        string Listing(string name) => Cli.Exec("/bin/bash", "-c", $"ls -A \"$1\"/{name}", "bash", ws.Project).StandardOutput;

        foreach (var (name, code) in new[] { ("$'new\\nline'", "SBX1015"), ("$'tab\\there'", "SBX1015"), ("$'caf\\351'", "SBX1017") })
        {
            var r = Start(name);
            Assert.True(r.ExitCode == 125, $"{name}: {r}");
            Assert.Contains(code + ":", r.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("new\nline", r.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
            Assert.Empty(Listing(name));
        }

        // A name with a space and quotes, made the same way, works.
        var ok = Start("\"a b 'c'\"");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Equal("ran\n", File.ReadAllText(Path.Combine(ws.Project, "a b 'c'", Marker)));
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void An_argument_for_the_command_that_is_not_UTF8_is_refused_and_the_same_bytes_made_inside_pass(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        // bash gives the tool the byte 0xE9 alone (Latin-1 é): .NET would pass U+FFFD on in its place.
        CliResult Run(string word) => Cli.Exec("/bin/bash",
            ["-c", $"export HOME_DIR='{ws.Home}'; cd \"$1\" && shift && exec env -i HOME=\"$HOME_DIR\" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \"$@\" {word}",
             "bash", ws.Project, .. Cli.CommandLine(id, ["exec", "--", "/bin/sh", "-c", "printf %s \"$1\" > " + Marker, "sh"])]);

        var refused = Run("$'caf\\351'");
        Assert.True(refused.ExitCode == 125, refused.ToString());
        Assert.Contains("SBX1019: argument 4 for the command, 'caf\uFFFD'", refused.StandardError, StringComparison.Ordinal);
        Assert.Contains("hint:", refused.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(ws.Project, Marker)), "the command ran");

        // The legitimate forms pass exactly: UTF-8, and the byte made inside the sandbox, as the hint says.
        var utf8 = Run("$'caf\\303\\251'");
        Assert.True(utf8.ExitCode == 0, utf8.ToString());
        Assert.Equal("caf\u00e9"u8.ToArray(), File.ReadAllBytes(Path.Combine(ws.Project, Marker)));
        var inside = Cli.Run(id, ws, ["exec", "--", "/bin/sh", "-c", "printf %s \"caf$(printf '\\351')\" > " + Marker]);
        Assert.True(inside.ExitCode == 0, inside.ToString());
        Assert.Equal(new byte[] { (byte)'c', (byte)'a', (byte)'f', 0xE9 }, File.ReadAllBytes(Path.Combine(ws.Project, Marker)));
    }

    private static readonly (string[] Options, string Code)[] BadBuildArguments =
    [
        (["build", ""], "SBX1014"),
        (["build", "--allow-write", ""], "SBX1014"),
        (["build", "-c", ""], "SBX1014"),
        (["build", "--allow-host", "exa mple.com"], "SBX6001"),
        (["build", "--setenv", "NOEQUALS"], "SBX1007"),
        (["build", "--allow-read", "~/x"], "SBX1016"),
        (["build", "no-such-project"], "SBX1012"),
        (["build", "../current"], "SBX1018"),
        (["policy", "--allow-write", " "], "SBX1014"),
        (["test", "-p", "NoEquals"], "SBX1007"),
        (["test", "-p:=nameless"], "SBX1007"),
        (["build", "-v", "loud"], "SBX1007"),
        (["test", "-e", "NOEQUALS"], "SBX1007"),
        (["test", "--results-directory", ""], "SBX1014"),
        (["test", "--results-directory", "~/tr"], "SBX1016"),
        (["test", "--filter", " "], "SBX1014"),
        (["test", "--no-build", "--locked-mode"], "SBX1001"),
        (["restore", "--filter", "X"], "SBX1001"),
        (["build", "--source", "https://feed.example/v3/index.json"], "SBX1001"),
        (["test", "-bl:out.binlog"], "SBX1001"),
        (["trust", "../current"], "SBX1018"),
    ];

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Every_bad_project_command_input_is_refused_before_any_evaluation_or_restore(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "hello");
        // A link in a directory the user (and so a sandbox that once ran there) can write.
        File.CreateSymbolicLink(Path.Combine(ws.Home, "src", "current"), "app");
        ws.FixOwnership();
        var before = Assets.Files(ws.Project);
        var failures = new List<string>();
        foreach (var (args, code) in BadBuildArguments)
        {
            var r = Cli.Run(id, ws, args, timeoutSeconds: 120);
            if (r.ExitCode != 125 || !r.StandardError.Contains(code + ":", StringComparison.Ordinal) || r.StandardError.Contains("   at ", StringComparison.Ordinal)
                || r.StandardError.Contains("restore:", StringComparison.Ordinal) || r.StandardError.Contains("policy inferred", StringComparison.Ordinal))
            {
                failures.Add($"{Cli.ShellLine(args)} (expected {code}): {r}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        Assert.Equal(before, Assets.Files(ws.Project));
        Assert.False(Directory.Exists(Path.Combine(ws.Project, "obj")));

        // The real location of the linked project, in a directory with a space, named relatively, builds.
        var spaced = Path.Combine(ws.Project, "my app");
        Directory.CreateDirectory(spaced);
        foreach (var file in new[] { "hello.csproj", "Program.cs" })
        {
            File.Move(Path.Combine(ws.Project, file), Path.Combine(spaced, file));
        }

        ws.FixOwnership();
        var legit = Cli.Run(id, ws, ["build", "my app"], timeoutSeconds: 600);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.True(File.Exists(Path.Combine(spaced, "bin", "Debug", "net10.0", "hello.dll")), legit.ToString());
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void An_unreadable_NuGet_config_is_named_by_SBX3027_before_any_restore(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        Assets.CopyInto(ws, "hello");
        var config = Path.Combine(ws.Project, "NuGet.config");
        File.SetUnixFileMode(config, UnixFileMode.None);

        var r = Cli.Run(id, ws, ["build"], timeoutSeconds: 600);
        Assert.True(r.ExitCode == 125, r.ToString());
        // A user cannot open it; root can, but the sandboxed restore (without the power to override
        // permissions) could not, so root is told the same before any restore starts.
        Assert.Contains($"SBX3027: the NuGet configuration '{config}' exists but you may not read it (", r.StandardError, StringComparison.Ordinal);
        Assert.Contains(id == Identity.Unprivileged || !Cli.IsRoot ? "(permission denied)" : "without the power to override file permissions", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("restore:", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(ws.Project, "obj")));

        // Readable again, it builds.
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var legit = Cli.Run(id, ws, ["build"], timeoutSeconds: 600);
        Assert.True(legit.ExitCode == 0, legit.ToString());
        Assert.True(File.Exists(Path.Combine(ws.Project, "bin", "Debug", "net10.0", "hello.dll")));
    }
}
