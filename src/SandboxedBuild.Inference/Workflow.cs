using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Inference;

/// <summary>What a host asks of the .NET workflow: which project, which steps, with what widenings.</summary>
public sealed record WorkflowRequest
{
    /// <summary>The caller's environment, home and working directory.</summary>
    public required HostFacts Host { get; init; }

    /// <summary>The project, solution or directory named by the caller; <see langword="null"/> for the working directory.</summary>
    public string? Project { get; init; }

    /// <summary>The command the caller runs (<c>build</c>, <c>test</c>, <c>policy</c>…): named in the messages of a project that cannot be located.</summary>
    public required string Verb { get; init; }

    /// <summary>The steps to run, in order.</summary>
    public IReadOnlyList<WorkflowStep> Steps { get; init; } = [];

    /// <summary>The caller's widenings; the hosts the user saved for good are added for each step.</summary>
    public ExecOptions Options { get; init; } = new();

    /// <summary>
    /// The caller's <c>dotnet</c> options, routed: for each step, the arguments it gets after the
    /// entry (<c>--configuration Release</c> for build, test and run; <c>--property:X=Y</c> for every
    /// step; <c>--filter</c> for the test). A step not listed gets none.
    /// </summary>
    public IReadOnlyDictionary<WorkflowStep, IReadOnlyList<string>> StepArguments { get; init; } = new Dictionary<WorkflowStep, IReadOnlyList<string>>();

    /// <summary>Directories the caller's options tell a step to write (<c>--results-directory</c> for the test): writable in that step only.</summary>
    public IReadOnlyDictionary<WorkflowStep, IReadOnlyList<CommandOutput>> StepOutputs { get; init; } = new Dictionary<WorkflowStep, IReadOnlyList<CommandOutput>>();

    /// <summary>
    /// Global properties the steps build with (<c>Name=Value</c>, as after <c>-p:</c>; <c>Configuration=Release</c> for <c>-c</c>):
    /// the projects are evaluated with them too, so that the inferred paths are the build's.
    /// </summary>
    public IReadOnlyList<string> Properties { get; init; } = [];

    /// <summary>Arguments for the last step only (the caller's words after <c>--</c>).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>Use the cached inference when the project files have not changed.</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>Run a restore step even when NuGet's own record says it would change nothing.</summary>
    public bool ForceRestore { get; init; }

    /// <summary>The bridge the host ships (see <see cref="SandboxRunner"/>); the steps that reach the network need it (SBX6012 without).</summary>
    public string? BridgeExecutable { get; init; }

    /// <summary>What stops the evaluation and the steps from outside: the host's cancellation (no further step starts), and the process's own signals only when the host says so.</summary>
    public RunControl Control { get; init; } = RunControl.None;
}

/// <summary>What the workflow tells its host while it runs; the host decides how to show it.</summary>
public interface IWorkflowObserver
{
    /// <summary>A coded warning as data (inference, policy, clean-up); <see cref="Diagnostic.ToString()"/> is the CLI's text.</summary>
    void Warning(Diagnostic warning);

    /// <summary>The restore step is skipped: NuGet's record says it would change nothing.</summary>
    void RestoreSkipped();

    /// <summary>The restore step runs, and why it is needed.</summary>
    void RestoreNeeded(string why);

    /// <summary>The project asks for widenings the user has not approved; the step runs without them.</summary>
    void WideningsPending(IReadOnlyList<ProjectWidening> pending, string entry);

    /// <summary>Another run holds this repository's restore or build; this one waits its turn.</summary>
    void WaitingForTurn(WorkflowStep workflowStep, string repositoryRoot);

    /// <summary>A step starts, under <paramref name="policy"/>.</summary>
    void StepStarting(WorkflowStep workflowStep, IReadOnlyList<string> arguments, SandboxPolicy policy);

    /// <summary>A step ended.</summary>
    void StepEnded(StepOutcome outcome, SandboxPolicy policy);

    /// <summary>Asks about hosts no rule decides; <see langword="null"/> denies them.</summary>
    IHostPrompt? Prompt { get; }

    /// <summary>How the host names a widening in refusals and summaries (the CLI: <c>--allow-host X</c>).</summary>
    IRemedyWording Wording { get; }

    /// <summary>A refusal of the egress proxy, as it happens: a coded warning (SBX6013 for a refused destination, with its remedy as data; SBX6006–SBX6008, SBX6014).</summary>
    void Blocked(Diagnostic refusal);
}

/// <summary>One step that ran: its <c>dotnet</c> command line, status, time and network decisions.</summary>
/// <param name="Step">The step.</param>
/// <param name="Arguments">The command that ran in the sandbox.</param>
/// <param name="ExitCode">Its exit status.</param>
/// <param name="Elapsed">Wall time of its sandbox.</param>
/// <param name="Connections">Every connection it asked the egress proxy for.</param>
public sealed record StepOutcome(WorkflowStep Step, IReadOnlyList<string> Arguments, int ExitCode, TimeSpan Elapsed, IReadOnlyList<ConnectionRecord> Connections);

/// <summary>The outcome of the workflow: the steps that ran and the status to exit with.</summary>
/// <param name="Steps">The steps that ran, in order (a skipped restore is not among them).</param>
/// <param name="ExitCode">The first failing step's status, else 0.</param>
public sealed record WorkflowResult(IReadOnlyList<StepOutcome> Steps, int ExitCode);

/// <summary>
/// The .NET workflow as any host runs it (the CLI today; a task or an MCP server next): locate the
/// project, infer its model (with only trusted feeds resolved), then for each step decide whether a
/// restore is needed, make the credential-free NuGet.Config, plan the step's policy, take the
/// repository's turn, run the step in the sandbox and check what it left in the packages folder.
/// </summary>
public sealed class Workflow
{
    private readonly string _bwrap;

    // The planning warnings said so far (see RunStep): each once per workflow.
    private readonly HashSet<string> _said = new(StringComparer.Ordinal);

    private Workflow(HostFacts host, ProjectModel model, string bwrap, string savedHostsFile)
    {
        Host = host;
        Model = model;
        _bwrap = bwrap;
        SavedHostsFile = savedHostsFile;
    }

    /// <summary>The host the steps run with: its working directory is the caller's when the sandbox shows it, else the entry's.</summary>
    public HostFacts Host { get; }

    /// <summary>The inferred project model.</summary>
    public ProjectModel Model { get; }

    /// <summary>The project or solution the steps run on.</summary>
    public string Entry => Model.Entry;

    /// <summary>The path of the user's saved hosts (those allowed for good at a prompt).</summary>
    public string SavedHostsFile { get; }

    /// <summary>Locates the project and infers its model; warnings go to <paramref name="observer"/>.</summary>
    /// <exception cref="Errors.SandboxException">The project cannot be located or evaluated, or the sandbox is unavailable.</exception>
    public static Workflow Open(WorkflowRequest request, IWorkflowObserver observer)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(observer);
        var host = request.Host;
        InputCheck.RequireNameablePath("the working directory", host.WorkingDirectory);
        var entry = ProjectFiles.Locate(request.Project, host.WorkingDirectory, request.Verb);
        InputCheck.RequireProjectWithoutLink(host, entry, request.Verb);
        if (request.Steps.Contains(WorkflowStep.Run) && ProjectFiles.IsSolution(entry))
        {
            // Said before anything is evaluated or built: dotnet would build the whole solution, then refuse.
            throw RunOfSolution(entry, host.WorkingDirectory);
        }

        var bwrap = Bubblewrap.Require(host.Variables, host.FileSystem);
        var model = Infer(host, entry, bwrap, request.UseCache, observer.Warning, request.Control, request.Properties);

        // Steps start in the caller's directory when the sandbox shows it, else in the entry's.
        if (!PathUtil.IsSameOrUnder(host.WorkingDirectory, model.RepositoryRoot))
        {
            host = host with { WorkingDirectory = Path.GetDirectoryName(entry)! };
        }

        return new Workflow(host, model, bwrap, UserHostsFile.PathFor(host.Variables, host.HomeDirectory));
    }

    private static SandboxException RunOfSolution(string solution, string workingDirectory)
    {
        var projects = ProjectFiles.ProjectsOfSolution(solution)
            .Select(p => TerminalText.Escape(Path.GetRelativePath(workingDirectory, p), 512))
            .ToList();
        var named = projects.Count switch
        {
            0 => "no project",
            <= 8 => $"{projects.Count} project(s): {string.Join(", ", projects)}",
            _ => $"{projects.Count} projects: {string.Join(", ", projects.Take(8))}, …",
        };
        return new SandboxException(Errors.Errors.RunNeedsProject, TerminalText.Escape(Path.GetRelativePath(workingDirectory, solution), 512), named, projects.Count > 0 ? Linux.BwrapCommandLine.ShellQuote(projects[0]) : "path/to/App.csproj");
    }

    /// <summary>Infers the model of <paramref name="entry"/>; the V3 service indexes of feeds are resolved only for those the user trusts.</summary>
    public static ProjectModel Infer(HostFacts host, string entry, string bwrap, bool useCache, Action<Diagnostic> warning, RunControl? control = null, IReadOnlyList<string>? properties = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(warning);
        var trust = TrustStore.Load(TrustStore.PathFor(host.Variables, host.HomeDirectory));
        var warnings = new List<Diagnostic>();
        var model = ProjectInference.Infer(host, entry, bwrap, useCache, source => trust.IsApproved(entry, StepPolicyBuilder.FeedWidening(source)), warnings, control, properties);
        warnings.ForEach(warning);
        return model;
    }

    /// <summary>The <c>dotnet</c> command line of a step: the verb, the entry, the step's routed options (<paramref name="shared"/>), the step's flags, then <paramref name="extra"/>.</summary>
    public static List<string> DotnetArguments(WorkflowStep step, string entry, IReadOnlyList<string> shared, IReadOnlyList<string> extra)
    {
        ArgumentNullException.ThrowIfNull(shared);
        ArgumentNullException.ThrowIfNull(extra);
        var args = new List<string> { "dotnet", step.ToString().ToLowerInvariant() };
        if (step == WorkflowStep.Run)
        {
            args.AddRange(["--project", entry]);
        }
        else
        {
            args.Add(entry);
        }

        args.AddRange(shared);

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

    /// <summary>Runs the steps of <paramref name="request"/> in order, up to the first that fails.</summary>
    public WorkflowResult Run(WorkflowRequest request, IWorkflowObserver observer)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(observer);
        // Every step planned before anything is said or run: a setting the policy refuses (a missing
        // --allow-write outside the working directory, a path through a link) stops the command
        // here, not after the restore and the build have run. What planning warns of is said when
        // each step runs.
        foreach (var step in request.Steps)
        {
            Plan(step, OptionsFor(request, step), new List<Diagnostic>(), sanitizedUserConfig: null);
        }

        var outcomes = new List<StepOutcome>();
        foreach (var step in request.Steps)
        {
            if (step == WorkflowStep.Restore && !request.ForceRestore)
            {
                if (RestoreState.IsUpToDate(Model, out var why))
                {
                    observer.RestoreSkipped();
                    continue;
                }

                observer.RestoreNeeded(why);
            }

            var args = DotnetArguments(step, Entry, request.StepArguments.GetValueOrDefault(step) ?? [], step == request.Steps[^1] ? request.ExtraArguments : []);
            // Before the app runs, what the restore and the build print is progress: it goes to stderr,
            // so that the caller's stdout is the app's alone (dotnet sandbox run > out.json).
            var streams = request.Steps.Contains(WorkflowStep.Run) && step != WorkflowStep.Run ? CommandStreams.OutputToStandardError : CommandStreams.Inherited;
            var outcome = RunStep(step, args, OptionsFor(request, step), observer, request.BridgeExecutable, request.Control, streams);
            outcomes.Add(outcome);
            if (outcome.ExitCode != 0)
            {
                return new WorkflowResult(outcomes, outcome.ExitCode);
            }
        }

        return new WorkflowResult(outcomes, Errors.ExitCodes.Success);
    }

    /// <summary>The caller's settings for one step: the shared widenings and the directories the step's own options name.</summary>
    public static ExecOptions OptionsFor(WorkflowRequest request, WorkflowStep step)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.StepOutputs.GetValueOrDefault(step) is { Count: > 0 } outputs
            ? request.Options with { CommandOutputs = [.. request.Options.CommandOutputs, .. outputs] }
            : request.Options;
    }

    /// <summary>
    /// The policy of one step, as <see cref="RunStep"/> runs it and <c>dotnet sandbox policy</c>
    /// prints it: the step's inferred policy with the widenings the trust store approves, the saved
    /// hosts, and, for a restore, the credential-free copy of the user's NuGet.Config in place of it.
    /// </summary>
    /// <param name="step">The step.</param>
    /// <param name="options">The user's settings for the step.</param>
    /// <param name="warnings">Receives what planning had to say (refused inferred paths, pending widenings are in the plan).</param>
    /// <param name="sanitizedUserConfig">
    /// For a restore: the host file to show at the user's NuGet.Config (<see cref="NuGetConfigSanitizer"/>'s copy);
    /// <see langword="null"/> when there is no user configuration, or to describe one without making it.
    /// </param>
    public StepPlan Plan(WorkflowStep step, ExecOptions options, ICollection<Diagnostic> warnings, string? sanitizedUserConfig)
    {
        ArgumentNullException.ThrowIfNull(options);
        var trust = TrustStore.Load(TrustStore.PathFor(Host.Variables, Host.HomeDirectory));
        return StepPolicyBuilder.Build(Host, Model, step, options with { SavedHosts = UserHostsFile.Load(SavedHostsFile) }, trust, warnings, sanitizedUserConfig);
    }

    /// <summary>
    /// Runs one step: the credential-free NuGet.Config for a restore, the step's policy with the
    /// approved widenings, the repository's turn for a restore or build, the sandbox, and the check
    /// of the links the step left in the packages folder.
    /// </summary>
    public StepOutcome RunStep(WorkflowStep step, IReadOnlyList<string> dotnetArguments, ExecOptions options, IWorkflowObserver observer, string? bridgeExecutable, RunControl? control = null, CommandStreams streams = CommandStreams.Inherited)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(observer);
        var warnings = new List<Diagnostic>();
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

            var plan = Plan(step, options, warnings, sanitized);

            // What planning says is the same for every step of a run (a variable not passed, a feed
            // URL with a key): said once, at the first step that has it.
            foreach (var warning in warnings.Where(w => _said.Add(w.ToString())))
            {
                observer.Warning(warning);
            }

            if (plan.Pending.Count > 0)
            {
                observer.WideningsPending(plan.Pending, Entry);
            }

            observer.StepStarting(step, dotnetArguments, plan.Policy);
            var hooks = new NetworkHooks
            {
                Prompt = observer.Prompt,
                OnBlocked = observer.Blocked,
                OnAlways = rule => UserHostsFile.Append(SavedHostsFile, rule),
                Wording = observer.Wording,
            };

            // Restore and build write obj/ and bin/: concurrent runs of them in one repository take turns.
            using var turn = step is WorkflowStep.Restore or WorkflowStep.Build
                ? StepTurn.Take(Model.RepositoryRoot, () => observer.WaitingForTurn(step, Model.RepositoryRoot))
                : null;
            var linksBefore = plan.WritablePackageFolders.ToDictionary(f => f, PackagesFolder.Links, StringComparer.Ordinal);
            var result = new SandboxRunner(Host.FileSystem, bridgeExecutable).Run(_bwrap, plan.Policy, dotnetArguments, hooks, streams, control);
            foreach (var (folder, before) in linksBefore)
            {
                foreach (var removed in PackagesFolder.RemoveAddedLinks(folder, before))
                {
                    observer.Warning(Errors.Errors.PackageLinkRemoved.With(TerminalText.Escape(removed, int.MaxValue)));
                }
            }

            var stepWrites = plan.LockFileDirectories.Count == 0 ? [] : plan.Policy.Paths.Where(r => r.Access == PathAccess.ReadWrite).Select(r => r.Path).ToHashSet(StringComparer.Ordinal);
            foreach (var directory in plan.LockFileDirectories)
            {
                if (LockFiles.Added(directory, stepWrites) is { Count: > 0 } added)
                {
                    var named = string.Join(", ", added.Select(a => "'" + TerminalText.Escape(Path.GetFileName(a), 256) + "'"));
                    observer.Warning(Errors.Errors.LockFileDirectoryChanged.With(named, TerminalText.Escape(directory.Directory, 4096), TerminalText.Escape(directory.LockFile, 4096)));
                }
            }

            foreach (var warning in result.Warnings)
            {
                observer.Warning(warning);
            }

            var outcome = new StepOutcome(step, dotnetArguments, result.ExitCode, result.Elapsed, result.Connections);
            observer.StepEnded(outcome, plan.Policy);
            return outcome;
        }
        finally
        {
            runDir?.Dispose();
        }
    }
}
