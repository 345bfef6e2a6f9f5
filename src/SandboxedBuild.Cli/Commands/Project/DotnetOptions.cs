using System.CommandLine;
using System.Text.RegularExpressions;
using SandboxedBuild.Errors;
using SandboxedBuild.Inference;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Cli.Commands.Project;

/// <summary>
/// The options of <c>dotnet restore | build | test | run</c> that the project commands take
/// directly, each sent to the steps where plain <c>dotnet</c> applies it: a property and the
/// verbosity to every step (plain <c>dotnet test</c> restores and builds with them), the
/// configuration to build, test and run, <c>--filter</c> to the test step. The words after
/// <c>--</c> still go to the last step unchanged.
/// </summary>
internal sealed partial class DotnetOptions
{
    private static readonly WorkflowStep[] Every = [WorkflowStep.Restore, WorkflowStep.Build, WorkflowStep.Test, WorkflowStep.Run];
    private static readonly WorkflowStep[] Built = [WorkflowStep.Build, WorkflowStep.Test, WorkflowStep.Run];
    private static readonly WorkflowStep[] Restore = [WorkflowStep.Restore];
    private static readonly WorkflowStep[] Test = [WorkflowStep.Test];

    private readonly List<Routed> _routed = [];
    private readonly Option<string[]>? _property;
    private readonly Option<string?>? _configuration;
    private readonly Option<string?>? _runtime;
    private readonly Option<bool>? _force;
    private readonly Option<string[]>? _logger;

    /// <summary>The options for the command whose steps are <paramref name="steps"/> (<c>policy</c>: every step).</summary>
    public DotnetOptions(string verb, IReadOnlyCollection<WorkflowStep> steps)
    {
        Verb = verb;
        bool Reaches(WorkflowStep[] to) => to.Any(steps.Contains);

        _property = Add(Values("--property", "NAME=VALUE", "Set an MSBuild property, in every step and in the evaluation of the projects, as dotnet does (-p:Name=Value). Repeatable.", ["-p", "/p", "/property"], CheckProperty), Every, forward: v => ["--property:" + v]);
        _configuration = Add(Value("--configuration", "CONFIGURATION", "The build configuration (Debug, Release): given to build, test and run, and to the restore and the evaluation as the Configuration property.", ["-c"]), Every, forward: v => ["--configuration", v]);
        if (verb == "restore")
        {
            // dotnet restore's own -f: plain 'dotnet restore -f' forces; it has no framework.
            _force = Add(Flag("--force", "Resolve every dependency again, even if the last restore succeeded (the restore step runs even when up to date).", ["-f"]), Restore);
        }
        else
        {
            Add(Value("--framework", "FRAMEWORK", "The target framework, given to build, test and run.", ["-f"]), Built);
            _force = Add(Flag("--force", "Resolve every dependency again in the restore step (which then runs even when up to date).", []), Restore);
        }

        Add(Value("--verbosity", "LEVEL", "MSBuild's verbosity in every step: q[uiet], m[inimal], n[ormal], d[etailed] or diag[nostic].", ["-v"], CheckVerbosity), Every);
        _runtime = Add(Value("--runtime", "RUNTIME_IDENTIFIER", "The target runtime, in every step (and the evaluation, as RuntimeIdentifier).", ["-r"]), Every);
        Add(Value("--arch", "ARCH", "The target architecture, in every step.", ["-a"]), Every);
        Add(Value("--os", "OS", "The target operating system, in every step.", []), Every);
        Add(Flag("--disable-build-servers", "Use no persistent build server, in every step.", [], hidden: true), Every);
        Add(Flag("--no-dependencies", "Restore and build only the project named, not the projects it references.", [], hidden: true), [WorkflowStep.Restore, WorkflowStep.Build]);
        foreach (var name in new[] { "--locked-mode", "--force-evaluate", "--disable-parallel", "--no-http-cache", "--ignore-failed-sources" })
        {
            Add(Flag(name, "dotnet restore's " + name + ", given to the restore step.", [], hidden: name is not "--locked-mode"), Restore);
        }

        if (Reaches([WorkflowStep.Build]))
        {
            Add(Flag("--no-incremental", "Build everything again, not only what changed.", [], hidden: true), [WorkflowStep.Build]);
        }

        if (verb is "build" or "test")
        {
            var output = Add(Value("--output", "OUTPUT_DIR", "Where the build puts its output (and the tests look for it); writable in the build and test steps, created below the working directory if missing.", ["-o"]), [WorkflowStep.Build, WorkflowStep.Test]);
            Outputs.Add((output, "output", [WorkflowStep.Build, WorkflowStep.Test]));
        }

        if (Reaches(Test))
        {
            Add(Value("--filter", "EXPRESSION", "Run the tests that match EXPRESSION (given to the test step).", []), Test);
            _logger = Add(Values("--logger", "LOGGER", "A test logger (trx, console;verbosity=detailed), given to the test step; the directory of an absolute LogFileName is writable there. Repeatable.", ["-l"]), Test);
            Add(Values("--collect", "DATA_COLLECTOR_NAME", "A data collector (\"Code Coverage\", \"XPlat Code Coverage\"), given to the test step. Repeatable.", []), Test);
            Add(Value("--settings", "SETTINGS_FILE", "A .runsettings file, given to the test step.", ["-s"]), Test);
            var results = Add(Value("--results-directory", "RESULTS_DIR", "Where the test results go; writable in the test step, created below the working directory if missing.", []), Test);
            Outputs.Add((results, "results-directory", Test));
            Add(Flag("--list-tests", "List the tests instead of running them.", ["-t"], hidden: true), Test);
            Add(Values("--test-adapter-path", "ADAPTER_PATH", "dotnet test's --test-adapter-path.", [], hidden: true), Test);
            foreach (var flag in new[] { "--blame", "--blame-crash", "--blame-crash-collect-always", "--blame-hang" })
            {
                Add(Flag(flag, "dotnet test's " + flag + ", given to the test step.", [], hidden: flag != "--blame"), Test);
            }

            foreach (var value in new[] { "--blame-crash-dump-type", "--blame-hang-dump-type", "--blame-hang-timeout" })
            {
                Add(Value(value, "VALUE", "dotnet test's " + value + ", given to the test step.", [], hidden: true), Test);
            }
        }

        if (Reaches([WorkflowStep.Test, WorkflowStep.Run]))
        {
            Add(Values("--environment", "NAME=VALUE", "Set a variable for the tests or the app, as dotnet does (it is set inside the sandbox). Repeatable.", ["-e"], CheckAssignment), [WorkflowStep.Test, WorkflowStep.Run]);
        }

        if (Reaches([WorkflowStep.Run]))
        {
            Add(Value("--launch-profile", "LAUNCH_PROFILE", "The launch profile of the app.", ["-lp"]), [WorkflowStep.Run]);
            Add(Flag("--no-launch-profile", "Use no launch profile.", []), [WorkflowStep.Run]);
        }

        // Only what this command runs: 'dotnet sandbox restore' offers no --filter.
        _routed.RemoveAll(r => !Reaches(r.Steps));
        Outputs.RemoveAll(o => !_routed.Any(r => r.Option == o.Option));
    }

    private string Verb { get; }

    private List<(Option<string?> Option, string Setting, WorkflowStep[] Steps)> Outputs { get; } = [];

    private const string BinaryLogNotTaken = "a binary log is written where the steps may not write; name a writable one for the last step: --allow-write logs -- -bl:logs/last-step.binlog";

    // Options of dotnet that the project commands do not take, and why: each would change what the
    // policy is inferred from, or needs what a sandbox does not give.
    private static readonly Dictionary<string, string> NotTaken = new(StringComparer.Ordinal)
    {
        ["--source"] = "a feed named on the command line is not in the policy, which comes from the NuGet configuration; add the source to the repository's NuGet.config (and approve it with 'dotnet sandbox trust')",
        ["--packages"] = "the packages folder is inferred from the NuGet configuration; set globalPackagesFolder in a NuGet.config, or -p:RestorePackagesPath=DIR",
        ["--configfile"] = "the policy is inferred from the effective NuGet configuration; put the settings in the repository's or your own NuGet.config",
        ["--artifacts-path"] = "give it as properties, which the evaluation sees: -p:UseArtifactsOutput=true -p:ArtifactsPath=DIR",
        ["--use-lock-file"] = "the restore may write a lock file only where the evaluation says the project uses one; give it as the property, which the evaluation sees: -p:RestorePackagesWithLockFile=true",
        ["--interactive"] = "no credential provider can prompt from inside the sandbox; restore outside ('dotnet restore --interactive'), then use --no-restore",
        ["-bl"] = BinaryLogNotTaken,
        ["--binaryLogger"] = BinaryLogNotTaken,
        ["/bl"] = BinaryLogNotTaken,
    };

    /// <summary>
    /// Refuses, with the reason, an option of dotnet these commands do not take (<c>--source</c>,
    /// <c>-bl</c>), before the words after <c>--</c>; the other unknown options are left to the usual check.
    /// </summary>
    public static void RejectNotTaken(ParseResult parse, string verb)
    {
        ArgumentNullException.ThrowIfNull(parse);
        foreach (var token in parse.Tokens.TakeWhile(t => t.Type != System.CommandLine.Parsing.TokenType.DoubleDash).Where(t => t.Type == System.CommandLine.Parsing.TokenType.Argument))
        {
            var name = token.Value.Split(':', '=')[0];
            if (NotTaken.TryGetValue(name, out var why))
            {
                throw new SandboxException(Errors.Errors.InvalidUsage, $"'dotnet sandbox {verb}' does not take {name}: {why}.", verb);
            }
        }
    }

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var routed in _routed)
        {
            command.Options.Add(routed.Option);
        }
    }

    /// <summary>Whether the restore is to run even when NuGet's record says it would change nothing (<c>--force</c>).</summary>
    public bool ForcesRestore(ParseResult parse) => _force is not null && parse.GetValue(_force);

    /// <summary>
    /// Each step's arguments, in the order the options were given; an option none of
    /// <paramref name="steps"/> would receive (<c>--locked-mode</c> with <c>--no-restore</c>) is refused
    /// rather than dropped.
    /// </summary>
    public Dictionary<WorkflowStep, IReadOnlyList<string>> StepArguments(ParseResult parse, IReadOnlyCollection<WorkflowStep> steps)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var arguments = steps.ToDictionary(s => s, _ => new List<string>());
        foreach (var routed in Given(parse))
        {
            var to = routed.Steps.Where(steps.Contains).ToList();
            if (to.Count == 0)
            {
                throw new SandboxException(Errors.Errors.InvalidUsage, $"{routed.Option.Name} is for the {string.Join(" and ", routed.Steps.Select(s => s.ToString().ToLowerInvariant()))} step, which this command does not run (--no-restore, --no-build); leave it out or run that step.", Verb);
            }

            foreach (var step in to)
            {
                // The restore takes a configuration as the property a plain 'dotnet build -c' restores with.
                arguments[step].AddRange(step == WorkflowStep.Restore && routed.Option == _configuration
                    ? [.. Words(parse, routed).Select(v => "--property:Configuration=" + v)]
                    : Forward(parse, routed));
            }
        }

        return arguments.ToDictionary(a => a.Key, a => (IReadOnlyList<string>)a.Value);
    }

    /// <summary>The directories these options tell each step to write (<c>--results-directory</c>, <c>--output</c>).</summary>
    public Dictionary<WorkflowStep, IReadOnlyList<CommandOutput>> StepOutputs(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var outputs = new Dictionary<WorkflowStep, IReadOnlyList<CommandOutput>>();
        foreach (var (option, setting, steps) in Outputs)
        {
            if (parse.GetResult(option) is not null && parse.GetValue(option) is { } path)
            {
                foreach (var step in steps)
                {
                    outputs[step] = [.. outputs.GetValueOrDefault(step) ?? [], new CommandOutput(setting, path)];
                }
            }
        }

        // A logger told to write a file by absolute path (trx;LogFileName=/abs/out.trx) writes it in the
        // test step: its directory is writable there, or refused with the reason, never lost in the
        // sandbox's private directories. A relative one goes to the results directory, writable anyway.
        foreach (var directory in _logger is null ? [] : (parse.GetValue(_logger) ?? []).SelectMany(LoggerFileDirectories))
        {
            outputs[WorkflowStep.Test] = [.. outputs.GetValueOrDefault(WorkflowStep.Test) ?? [], new CommandOutput("logger", directory)];
        }

        return outputs;
    }

    // The directories of the files a logger's parameters name by absolute path (LogFileName, LogFilePath).
    private static IEnumerable<string> LoggerFileDirectories(string logger) =>
        logger.Split(';').Skip(1)
            .Select(p => p.Split('=', 2))
            .Where(kv => kv.Length == 2 && kv[0].Trim() is var key && (key.Equals("LogFileName", StringComparison.OrdinalIgnoreCase) || key.Equals("LogFilePath", StringComparison.OrdinalIgnoreCase)))
            .Select(kv => kv[1].Trim())
            .Where(Path.IsPathRooted)
            .Select(f => Path.GetDirectoryName(f) ?? "/");

    /// <summary>The global properties the steps build with, for the evaluation: each <c>-p</c>, then <c>-c</c> and <c>-r</c> as the properties dotnet makes of them.</summary>
    public List<string> Properties(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var properties = new List<string>(_property is null ? [] : parse.GetValue(_property) ?? []);
        if (_configuration is not null && parse.GetValue(_configuration) is { Length: > 0 } configuration)
        {
            properties.Add("Configuration=" + configuration);
        }

        if (_runtime is not null && parse.GetValue(_runtime) is { Length: > 0 } runtime)
        {
            properties.Add("RuntimeIdentifier=" + runtime);
        }

        return properties;
    }

    /// <summary>
    /// Checks the values the parser left as text: each must be a value, not empty or blank (SBX1014).
    /// The directories they name are checked with the other paths (<see cref="InputCheck.Check"/>, from <see cref="StepOutputs"/>).
    /// </summary>
    public void CheckInput(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        foreach (var routed in Given(parse))
        {
            foreach (var value in Words(parse, routed))
            {
                InputCheck.RequireValue(routed.Option.Name, value, "a value");
            }
        }
    }

    // The options given, in command-line order (which is the order dotnet would see them in).
    private List<Routed> Given(ParseResult parse)
    {
        var tokens = parse.Tokens.ToList();
        return [.. _routed
            .Select(r => (Routed: r, Result: parse.GetResult(r.Option)))
            .Where(g => g.Result is { Implicit: false })
            .OrderBy(g => tokens.FindIndex(t => ReferenceEquals(t, g.Result!.IdentifierToken)))
            .Select(g => g.Routed)];
    }

    private static string[] Words(ParseResult parse, Routed routed) => routed.Option switch
    {
        Option<string[]> many => parse.GetValue(many) ?? [],
        Option<string?> one => parse.GetValue(one) is { } v ? [v] : [],
        _ => [],
    };

    private T Add<T>(T option, WorkflowStep[] steps, Func<string, IEnumerable<string>>? forward = null)
        where T : Option
    {
        _routed.Add(new Routed(option, steps, forward));
        return option;
    }

    // What a step gets for one option: the flag, or each value after the option's name (or as forward makes it).
    private static IEnumerable<string> Forward(ParseResult parse, Routed routed) => routed.Option is Option<bool> flag
        ? parse.GetValue(flag) ? [routed.Option.Name] : []
        : Words(parse, routed).SelectMany(v => routed.Forwarding?.Invoke(v) ?? [routed.Option.Name, v]);

    private static Option<bool> Flag(string name, string description, string[] aliases, bool hidden = false) =>
        new(name, aliases) { Description = description, Hidden = hidden };

    private static Option<string?> Value(string name, string helpName, string description, string[] aliases, Func<string, string>? check = null, bool hidden = false)
    {
        var option = check is null
            ? new Option<string?>(name) { Description = description, HelpName = helpName }
            : CliOptions.Checked<string?>(name, helpName, description, check);
        foreach (var alias in aliases)
        {
            option.Aliases.Add(alias);
        }

        option.Hidden = hidden;
        return option;
    }

    private static Option<string[]> Values(string name, string helpName, string description, string[] aliases, Func<string, string>? check = null, bool hidden = false)
    {
        var option = CliOptions.Repeatable(name, helpName, description);
        foreach (var alias in aliases)
        {
            option.Aliases.Add(alias);
        }

        if (check is not null)
        {
            option.Validators.Add(result =>
            {
                foreach (var token in result.Tokens)
                {
                    try
                    {
                        check(token.Value);
                    }
                    catch (SandboxException ex)
                    {
                        CliOptions.Refuse(result, ex);
                        return;
                    }
                }
            });
        }

        option.Hidden = hidden;
        return option;
    }

    private static readonly string[] Verbosities = ["q", "quiet", "m", "minimal", "n", "normal", "d", "detailed", "diag", "diagnostic"];

    private static string CheckVerbosity(string value) =>
        Verbosities.FirstOrDefault(v => string.Equals(v, value, StringComparison.OrdinalIgnoreCase))
            ?? throw new SandboxException(Errors.Errors.InvalidOptionValue, "--verbosity", TerminalText.Name(value), "expected q[uiet], m[inimal], n[ormal], d[etailed] or diag[nostic].");

    // What MSBuild takes after -property: (Name=Value, more separated by ';'): the first must name a property.
    private static string CheckProperty(string value) =>
        PropertyAssignment().IsMatch(value)
            ? value
            : throw new SandboxException(Errors.Errors.InvalidOptionValue, "--property", TerminalText.Name(value), "expected NAME=VALUE (-p:Configuration=Release), a property name followed by '='.");

    private static string CheckAssignment(string value) =>
        value.IndexOf('=', StringComparison.Ordinal) > 0
            ? value
            : throw new SandboxException(Errors.Errors.InvalidOptionValue, "--environment", TerminalText.Name(value), "expected NAME=VALUE.");

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_.\-]*=")]
    private static partial Regex PropertyAssignment();

    private sealed record Routed(Option Option, WorkflowStep[] Steps, Func<string, IEnumerable<string>>? Forwarding);
}
