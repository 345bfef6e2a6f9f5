using System.CommandLine;
using System.CommandLine.Parsing;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;
using SandboxedBuild.Inference;

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
        var options = new StepOptions(verb, steps);
        var arguments = CliOptions.ProjectArgument($"Arguments after '--' go to 'dotnet {verb}' unchanged" + (verb == "run" ? " (they reach the app)." : "."));
        var noRestore = new Option<bool>("--no-restore") { Description = "Skip the restore step." };
        var noBuild = new Option<bool>("--no-build") { Description = "Skip the restore and build steps." };
        var examples = verb switch
        {
            "restore" => "  dotnet sandbox restore\n  dotnet sandbox restore App.sln --locked-mode",
            "build" => "  dotnet sandbox build\n  dotnet sandbox build -c Release -v q src/App/App.csproj",
            "test" => "  dotnet sandbox test\n  dotnet sandbox test App.sln -c Release --filter Category=Unit\n  dotnet sandbox test -p:TargetFrameworks=net10.0 --logger trx --results-directory artifacts/tr\n  dotnet sandbox test --allow-host localhost:5432",
            _ => "  dotnet sandbox run src/App/App.csproj -- --port 8080",
        };
        var routing = "The options of 'dotnet " + verb + "' listed below go to the steps where plain dotnet applies them: "
            + "properties, verbosity and runtime to every step, the configuration and framework to build, test and run"
            + (verb == "test" ? ", test options to the test step" : string.Empty)
            + ". Its less common options (--no-incremental, --disable-build-servers, --force-evaluate"
            + (verb == "test" ? ", --blame-crash, --blame-hang, --list-tests" : string.Empty)
            + "…) are taken too. Anything else goes after '--', to the last step.";
        var command = new Command(verb, description.TrimEnd() + "\n\n" + Wrapped(routing, 90) + "\n\nExamples:\n" + examples + "\n\nSee the policy of each step with: dotnet sandbox policy --step STEP");
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
            DotnetOptions.RejectNotTaken(parse, verb);
            var (projectArgument, extra) = CliOptions.SplitProjectArguments(parse, verb);
            InputCheck.RequireArguments(extra, $"'dotnet {verb}'");
            var chosen = steps
                .Where(s => !(s == WorkflowStep.Restore && (parse.GetValue(noRestore) || parse.GetValue(noBuild))))
                .Where(s => !(s == WorkflowStep.Build && parse.GetValue(noBuild)))
                .ToList();
            var request = options.Request(parse, projectArgument, verb, chosen) with
            {
                ExtraArguments = extra,
            };
            var observer = new ConsoleWorkflowObserver();
            var workflow = Workflow.Open(request, observer);
            observer.WorkingDirectory = workflow.Host.WorkingDirectory;
            var result = workflow.Run(request, observer);
            Console.Error.WriteLine("dotnet-sandbox: " + ConsoleWorkflowObserver.Closing(steps, result));
            return result.ExitCode;
        });
        return command;
    }

    // Help text is written wrapped, as the descriptions above are.
    private static string Wrapped(string text, int width)
    {
        var lines = new List<string>();
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' '))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }

            line.Append(line.Length > 0 ? " " : string.Empty).Append(word);
        }

        lines.Add(line.ToString());
        return string.Join('\n', lines);
    }
}

/// <summary>The options every project command shares: the command line's widenings and the options of dotnet it routes to the steps.</summary>
internal sealed class StepOptions
{
    public StepOptions(string verb, IReadOnlyCollection<WorkflowStep> steps)
    {
        AllowRead = CliOptions.Repeatable("--allow-read", "PATH", "Make PATH visible, read-only, in every step. Repeatable.");
        AllowWrite = CliOptions.Repeatable("--allow-write", "PATH", "Make PATH writable in every step (a missing directory below the working directory is created). Repeatable.");
        Env = CliOptions.Repeatable("--env", "NAME", "Pass the caller's variable NAME through. Repeatable.");
        SetEnv = CliOptions.Repeatable("--setenv", "NAME=VALUE", "Set NAME to VALUE inside the sandbox. Repeatable.");
        AllowHost = CliOptions.Repeatable("--allow-host", "HOST[:PORT]", verb == "restore"
            ? "Let the restore reach HOST too. Repeatable."
            : "Let the step that runs code (restore, test, run) reach HOST too; the build step stays offline. Repeatable.");
        DenyHost = CliOptions.Repeatable("--deny-host", "HOST[:PORT]", "Never reach HOST. Repeatable.");
        Preset = CliOptions.Repeatable("--preset", "NAME", verb == "restore"
            ? $"Let the restore reach a named set of hosts too: {string.Join(", ", Presets.Names)}. Repeatable."
            : $"Let the steps that run code (restore, test, run) reach a named set of hosts: {string.Join(", ", Presets.Names)}; the build step stays offline. Repeatable.");
        NoCache = new Option<bool>("--no-cache") { Description = "Evaluate the projects again instead of using the cached policy inference." };
        TmpfsSize = CliOptions.TmpfsSize();
        MaxProcesses = CliOptions.MaxProcesses();
        Dotnet = new DotnetOptions(verb, steps);
    }

    public Option<long?> TmpfsSize { get; }

    public Option<int?> MaxProcesses { get; }

    public Option<string[]> AllowRead { get; }

    public Option<string[]> AllowWrite { get; }

    public Option<string[]> Env { get; }

    public Option<string[]> SetEnv { get; }

    public Option<string[]> AllowHost { get; }

    public Option<string[]> DenyHost { get; }

    public Option<string[]> Preset { get; }

    public Option<bool> NoCache { get; }

    /// <summary>The options of dotnet these commands take directly, and where each goes.</summary>
    public DotnetOptions Dotnet { get; }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { AllowRead, AllowWrite, Env, SetEnv, AllowHost, DenyHost, Preset, NoCache, TmpfsSize, MaxProcesses })
        {
            command.Options.Add(option);
        }

        Dotnet.AddTo(command);
    }

    public ExecOptions ToExecOptions(ParseResult parse) => new()
    {
        TmpfsSize = parse.GetValue(TmpfsSize),
        MaxProcesses = parse.GetValue(MaxProcesses),
        AllowRead = parse.GetValue(AllowRead) ?? [],
        AllowWrite = parse.GetValue(AllowWrite) ?? [],
        PassVariables = parse.GetValue(Env) ?? [],
        SetVariables = parse.GetValue(SetEnv) ?? [],
        AllowHosts = parse.GetValue(AllowHost) ?? [],
        DenyHosts = parse.GetValue(DenyHost) ?? [],
        Presets = parse.GetValue(Preset) ?? [],
        Wording = CommandLineWording.Instance,
        ProxyPort = Random.Shared.Next(20000, 60000),
    };

    /// <summary>
    /// The workflow request these options make for <paramref name="steps"/>, checked first (a
    /// malformed bound or any other bad value is refused before the projects are evaluated).
    /// </summary>
    public WorkflowRequest Request(ParseResult parse, string? projectArgument, string verb, IReadOnlyList<WorkflowStep> steps)
    {
        CheckInput(parse, projectArgument);
        return new WorkflowRequest
        {
            Host = HostFacts.Current(),
            Project = projectArgument,
            Verb = verb,
            Steps = steps,
            Options = ToExecOptions(parse),
            StepArguments = Dotnet.StepArguments(parse, steps),
            StepOutputs = Dotnet.StepOutputs(parse),
            Properties = Dotnet.Properties(parse),
            ForceRestore = verb == "restore" || Dotnet.ForcesRestore(parse),
            UseCache = !parse.GetValue(NoCache),
            BridgeExecutable = BridgeLocation.NextToThisTool(),

            // The CLI stands in for dotnet at the terminal: Ctrl-C and its kin go to the command.
            Control = RunControl.ProcessSignals,
        };
    }

    /// <summary>Checks every value given to these options and the PROJECT argument (SBX1014–SBX1017 and the host, variable and preset codes; the bounds were checked as the command line was parsed).</summary>
    public void CheckInput(ParseResult parse, string? projectArgument)
    {
        InputCheck.RequirePath("PROJECT", projectArgument);
        Dotnet.CheckInput(parse);
        InputCheck.Check(ToExecOptions(parse) with { CommandOutputs = [.. Dotnet.StepOutputs(parse).Values.SelectMany(o => o).Distinct()] });
    }
}
