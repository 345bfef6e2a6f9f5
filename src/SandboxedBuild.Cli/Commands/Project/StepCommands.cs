using System.CommandLine;
using System.CommandLine.Parsing;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;
using SandboxedBuild.Project;

namespace SandboxedBuild.Cli.Commands.Project;

/// <summary>
/// <c>dotnet sandbox restore | build | test | run</c>: the .NET workflow, one sandboxed step at a
/// time, each with the policy the project files imply.
/// </summary>
internal static class StepCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return Create("restore", [WorkflowStep.Restore],
            """
            Restore packages inside the sandbox.

            The restore reaches the package feeds of the effective NuGet configuration and nothing
            else; it writes the projects' obj/ directories, the NuGet packages folder (adding
            packages, never changing those already there) and the HTTP cache. Your NuGet.Config
            is shown without its credentials.
            """);
        yield return Create("build", [WorkflowStep.Restore, WorkflowStep.Build],
            """
            Restore, then build, each inside the sandbox with its own policy.

            The build step has no network and writes only the obj/ and bin/ (or artifacts)
            directories of the projects in the build; the packages folder is read-only.
            """);
        yield return Create("test", [WorkflowStep.Restore, WorkflowStep.Build, WorkflowStep.Test],
            """
            Restore, build and test, each inside the sandbox with its own policy.

            The test step has no network unless the project asks for hosts (SandboxAllowedHost
            items, approved with 'dotnet sandbox trust') or you name them with --allow-host; it
            writes bin/, TestResults/ and a private temporary directory.
            """);
        yield return Create("run", [WorkflowStep.Restore, WorkflowStep.Build, WorkflowStep.Run],
            """
            Restore, build and run the app, each inside the sandbox; the app gets the test step's
            policy (no network unless allowed, writes only its output directory).
            """);
    }

    private static Command Create(string verb, WorkflowStep[] steps, string description)
    {
        var options = new StepOptions(verb);
        var arguments = CliOptions.ProjectArgument($"Arguments after '--' go to 'dotnet {verb}' unchanged" + (verb == "run" ? " (they reach the app)." : "."));
        var noRestore = new Option<bool>("--no-restore") { Description = "Skip the restore step." };
        var noBuild = new Option<bool>("--no-build") { Description = "Skip the restore and build steps." };
        var examples = verb switch
        {
            "restore" => "  dotnet sandbox restore\n  dotnet sandbox restore App.sln -- --locked-mode",
            "build" => "  dotnet sandbox build\n  dotnet sandbox build -c Release src/App/App.csproj",
            "test" => "  dotnet sandbox test\n  dotnet sandbox test App.sln -c Release -- --filter Category=Unit\n  dotnet sandbox test --allow-host localhost:5432",
            _ => "  dotnet sandbox run src/App/App.csproj -- --port 8080",
        };
        var command = new Command(verb, description.TrimEnd() + "\n\nExamples:\n" + examples + "\n\nSee the policy of each step with: dotnet sandbox policy --step STEP");
        command.Arguments.Add(arguments);
        options.AddTo(command);
        if (steps.Length > 1)
        {
            command.Options.Add(noRestore);
        }

        if (steps.Length > 2)
        {
            command.Options.Add(noBuild);
        }

        command.SetAction(parse =>
        {
            CliApp.RequireSupportedPlatform();
            var (projectArgument, extra) = CliOptions.SplitProjectArguments(parse, verb);
            CommandLineInput.RequireArguments(extra, $"'dotnet {verb}'");
            var selected = steps
                .Where(s => !(s == WorkflowStep.Restore && (parse.GetValue(noRestore) || parse.GetValue(noBuild))))
                .Where(s => !(s == WorkflowStep.Build && parse.GetValue(noBuild)))
                .ToList();
            var context = StepContext.Create(parse, options, projectArgument, verb);
            foreach (var step in selected)
            {
                if (step == WorkflowStep.Restore && verb != "restore")
                {
                    if (RestoreState.IsUpToDate(context.Model, out var why))
                    {
                        Console.Error.WriteLine("dotnet-sandbox: restore: up to date, skipped (run 'dotnet sandbox restore' to force it)");
                        continue;
                    }

                    Console.Error.WriteLine($"dotnet-sandbox: restore: needed ({why})");
                }

                var args = DotnetArguments(step, context.Entry, options, parse, step == steps[^1] ? extra : []);
                var status = context.RunStep(step, args);
                if (status != 0)
                {
                    return status;
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The <c>dotnet</c> command line of a step: the verb, the entry, the shared options, the step's flags, then the user's arguments.</summary>
    internal static List<string> DotnetArguments(WorkflowStep step, string entry, StepOptions options, ParseResult parse, IReadOnlyList<string> extra)
    {
        var args = new List<string> { "dotnet", step.ToString().ToLowerInvariant() };
        if (step == WorkflowStep.Run)
        {
            args.AddRange(["--project", entry]);
        }
        else
        {
            args.Add(entry);
        }

        if (step != WorkflowStep.Restore)
        {
            args.AddRange(options.SharedArguments(parse));
        }

        args.Add(step switch
        {
            WorkflowStep.Build => "--no-restore",
            WorkflowStep.Test or WorkflowStep.Run => "--no-build",
            _ => "--nologo",
        });
        if (step == WorkflowStep.Run)
        {
            // 'dotnet run' takes the app's own arguments after its own '--'.
            args.AddRange(extra.Count > 0 ? ["--", .. extra] : []);
        }
        else
        {
            args.AddRange(extra);
        }

        return args;
    }
}

/// <summary>The options every project command shares: the command line's widenings and the build's configuration.</summary>
internal sealed class StepOptions
{
    public StepOptions(string verb)
    {
        AllowRead = CliOptions.Repeatable("--allow-read", "PATH", "Make PATH visible, read-only, in every step. Repeatable.");
        AllowWrite = CliOptions.Repeatable("--allow-write", "PATH", "Make PATH writable in every step. Repeatable.");
        Env = CliOptions.Repeatable("--env", "NAME", "Pass the caller's variable NAME through. Repeatable.");
        SetEnv = CliOptions.Repeatable("--setenv", "NAME=VALUE", "Set NAME to VALUE inside the sandbox. Repeatable.");
        AllowHost = CliOptions.Repeatable("--allow-host", "HOST[:PORT]", verb == "restore"
            ? "Let the restore reach HOST too. Repeatable."
            : "Let the step that runs code (restore, test, run) reach HOST too; the build step stays offline. Repeatable.");
        DenyHost = CliOptions.Repeatable("--deny-host", "HOST[:PORT]", "Never reach HOST. Repeatable.");
        Configuration = new Option<string?>("--configuration", "-c") { Description = "The build configuration, passed to build, test and run.", HelpName = "CONFIGURATION" };
        Framework = new Option<string?>("--framework", "-f") { Description = "The target framework, passed to build, test and run.", HelpName = "FRAMEWORK" };
        NoCache = new Option<bool>("--no-cache") { Description = "Evaluate the projects again instead of using the cached policy inference." };
        TmpfsSize = CliOptions.TmpfsSize();
        MaxProcesses = CliOptions.MaxProcesses();
    }

    public Option<string?> TmpfsSize { get; }

    public Option<string?> MaxProcesses { get; }

    public Option<string[]> AllowRead { get; }

    public Option<string[]> AllowWrite { get; }

    public Option<string[]> Env { get; }

    public Option<string[]> SetEnv { get; }

    public Option<string[]> AllowHost { get; }

    public Option<string[]> DenyHost { get; }

    public Option<string?> Configuration { get; }

    public Option<string?> Framework { get; }

    public Option<bool> NoCache { get; }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Configuration, Framework, AllowRead, AllowWrite, Env, SetEnv, AllowHost, DenyHost, NoCache, TmpfsSize, MaxProcesses })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The bounds asked for, checked (SBX1013).</summary>
    public (long? TmpfsSize, int? MaxProcesses) Bounds(ParseResult parse) => CliOptions.Bounds(parse, TmpfsSize, MaxProcesses);

    public ExecOptions ToExecOptions(ParseResult parse, IReadOnlyList<HostRule> savedHosts) => new()
    {
        TmpfsSize = Bounds(parse).TmpfsSize,
        MaxProcesses = Bounds(parse).MaxProcesses,
        AllowRead = parse.GetValue(AllowRead) ?? [],
        AllowWrite = parse.GetValue(AllowWrite) ?? [],
        PassVariables = parse.GetValue(Env) ?? [],
        SetVariables = parse.GetValue(SetEnv) ?? [],
        AllowHosts = parse.GetValue(AllowHost) ?? [],
        DenyHosts = parse.GetValue(DenyHost) ?? [],
        SavedHosts = savedHosts,
        ProxyPort = Random.Shared.Next(20000, 60000),
    };

    /// <summary>Checks every value given to these options and the PROJECT argument (SBX1013–SBX1017 and the host, variable and preset codes).</summary>
    public void CheckInput(ParseResult parse, string? projectArgument)
    {
        _ = Bounds(parse);
        CommandLineInput.RequirePath("PROJECT", projectArgument);
        CommandLineInput.RequireValue("--configuration", parse.GetValue(Configuration), "a configuration name (Debug, Release)");
        CommandLineInput.RequireValue("--framework", parse.GetValue(Framework), "a target framework (net10.0)");
        CommandLineInput.Check(ToExecOptions(parse, []));
    }

    public IEnumerable<string> SharedArguments(ParseResult parse)
    {
        if (parse.GetValue(Configuration) is { Length: > 0 } c)
        {
            yield return "--configuration";
            yield return c;
        }

        if (parse.GetValue(Framework) is { Length: > 0 } f)
        {
            yield return "--framework";
            yield return f;
        }
    }
}

/// <summary>What the steps of one invocation share: the host, the inferred model, the trust store.</summary>
internal sealed class StepContext
{
    private readonly ParseResult _parse;
    private readonly StepOptions _options;
    private readonly string _bwrap;
    private readonly string _savedHostsFile;

    private StepContext(ParseResult parse, StepOptions options, HostFacts host, ProjectModel model, string bwrap, string savedHostsFile)
    {
        _parse = parse;
        _options = options;
        Host = host;
        Model = model;
        _bwrap = bwrap;
        _savedHostsFile = savedHostsFile;
    }

    public HostFacts Host { get; }

    public ProjectModel Model { get; }

    public string Entry => Model.Entry;

    public static StepContext Create(ParseResult parse, StepOptions options, string? projectArgument, string verb)
    {
        // A malformed bound or any other bad value is refused before the projects are evaluated.
        options.CheckInput(parse, projectArgument);
        var host = HostFacts.Current();
        CommandLineInput.RequireNameablePath("the working directory", host.WorkingDirectory);
        var entry = ProjectFiles.Locate(projectArgument, host.WorkingDirectory, verb);
        CommandLineInput.RequireProjectWithoutLink(host, entry, verb);
        var bwrap = Bubblewrap.Require(host.Variables, host.FileSystem);
        var model = Infer(host, entry, bwrap, !parse.GetValue(options.NoCache));

        // Steps start in the caller's directory when the sandbox shows it, else in the entry's.
        if (!PathUtil.IsSameOrUnder(host.WorkingDirectory, model.RepositoryRoot))
        {
            host = host with { WorkingDirectory = Path.GetDirectoryName(entry)! };
        }

        return new StepContext(parse, options, host, model, bwrap, UserHostsFile.PathFor(host.Variables, host.HomeDirectory));
    }

    public static ProjectModel Infer(HostFacts host, string entry, string bwrap, bool useCache)
    {
        var trust = TrustStore.Load(TrustStore.PathFor(host.Variables, host.HomeDirectory));
        var warnings = new List<string>();
        var model = ProjectInference.Infer(host, entry, bwrap, useCache, source => trust.IsApproved(entry, StepPolicyBuilder.FeedWidening(source)), warnings);
        foreach (var warning in warnings)
        {
            Console.Error.WriteLine("dotnet-sandbox: " + Diagnostics.TerminalText.EscapeLine(warning, keepNewlines: true));
        }

        return model;
    }

    public int RunStep(WorkflowStep step, IReadOnlyList<string> dotnetArguments)
    {
        var warnings = new List<string>();
        var trust = TrustStore.Load(TrustStore.PathFor(Host.Variables, Host.HomeDirectory));
        OwnedDirectory? runDir = null;
        try
        {
            string? sanitized = null;
            if (step == WorkflowStep.Restore && Model.NuGet.UserConfigFile is { } userConfig && File.Exists(userConfig))
            {
                runDir = OwnedDirectory.Create(Path.GetTempPath(), "dotnet-sandbox-run-");
                sanitized = Path.Combine(runDir.Path, "NuGet.Config");
                File.WriteAllText(sanitized, NuGetConfigSanitizer.Sanitize(File.ReadAllText(userConfig), out _, warnings, userConfig));
            }

            var plan = StepPolicyBuilder.Build(Host, Model, step, _options.ToExecOptions(_parse, UserHostsFile.Load(_savedHostsFile)), trust, warnings, sanitized);
            foreach (var warning in warnings)
            {
                Console.Error.WriteLine("dotnet-sandbox: " + Diagnostics.TerminalText.EscapeLine(warning, keepNewlines: true));
            }

            if (plan.Pending.Count > 0)
            {
                Console.Error.WriteLine("dotnet-sandbox: " + Errors.Errors.PendingWidening.Format(
                    plan.Pending.Count, string.Concat(plan.Pending.Select(w => "\n    " + w)), BwrapCommandLine.ShellQuote(Path.GetRelativePath(Host.WorkingDirectory, Entry))));
            }

            Console.Error.WriteLine($"dotnet-sandbox: {step.ToString().ToLowerInvariant()}: {string.Join(' ', dotnetArguments.Select(BwrapCommandLine.ShellQuote))}  ({Describe(plan.Policy)})");
            var hooks = new NetworkHooks
            {
                Prompt = TerminalPrompt.IfInteractive(),
                OnBlocked = message => Console.Error.WriteLine("dotnet-sandbox: " + Diagnostics.TerminalText.EscapeLine(message, keepNewlines: true)),
                OnAlways = rule => UserHostsFile.Append(_savedHostsFile, rule),
            };
            // Restore and build write obj/ and bin/: concurrent runs of them in one repository take turns.
            using var turn = step is WorkflowStep.Restore or WorkflowStep.Build
                ? StepTurn.Take(Model.RepositoryRoot, () => Console.Error.WriteLine("dotnet-sandbox: " + Diagnostics.TerminalText.EscapeLine(Errors.Errors.StepWaiting.Format(step.ToString().ToLowerInvariant(), Model.RepositoryRoot), keepNewlines: true)))
                : null;
            var linksBefore = plan.WritablePackageFolders.ToDictionary(f => f, PackagesFolder.Links, StringComparer.Ordinal);
            var result = new SandboxRunner(Host.FileSystem, BridgeLocation.NextToThisTool()).Run(_bwrap, plan.Policy, dotnetArguments, hooks);
            foreach (var (folder, before) in linksBefore)
            {
                foreach (var removed in PackagesFolder.RemoveAddedLinks(folder, before))
                {
                    Console.Error.WriteLine("dotnet-sandbox: " + Diagnostics.TerminalText.EscapeLine(Errors.Errors.PackageLinkRemoved.Format(removed)));
                }
            }

            foreach (var warning in result.Warnings)
            {
                Console.Error.WriteLine("dotnet-sandbox: " + Diagnostics.TerminalText.EscapeLine(warning, keepNewlines: true));
            }

            var summary = NetworkSummary.Format(result.Connections, plan.Policy.Network.Mode);
            if (summary.Length > 0)
            {
                Console.Error.Write("dotnet-sandbox: " + summary);
            }

            return result.ExitCode;
        }
        finally
        {
            runDir?.Dispose();
        }
    }

    /// <summary>One line on what the step may do: where it writes and what it reaches.</summary>
    internal static string Describe(SandboxPolicy policy)
    {
        var writes = policy.Paths.Count(r => r.Access == PathAccess.ReadWrite && !r.Reason.StartsWith("git repository", StringComparison.Ordinal));
        var network = policy.Network.Mode switch
        {
            NetworkMode.None => "no network",
            NetworkMode.Audit => "network: AUDIT",
            _ => "network: " + string.Join(", ", policy.Network.Allow.Select(h => h.ToString()).Distinct().Take(4)) + (policy.Network.Allow.Length > 4 ? ", …" : string.Empty),
        };
        return $"writes {writes} director{(writes == 1 ? "y" : "ies")}; {network}";
    }
}
