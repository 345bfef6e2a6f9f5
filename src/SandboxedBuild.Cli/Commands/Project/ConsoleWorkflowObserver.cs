using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;
using SandboxedBuild.Inference;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Cli.Commands.Project;

/// <summary>How the CLI shows the workflow: one escaped line (or message) per event on stderr, in the CLI's own words.</summary>
internal sealed class ConsoleWorkflowObserver : IWorkflowObserver
{
    /// <summary>The directory the pending-widening hint names the project relative to.</summary>
    public string WorkingDirectory { get; set; } = Environment.CurrentDirectory;

    /// <inheritdoc/>
    public IHostPrompt? Prompt { get; } = TerminalPrompt.IfInteractive();

    /// <inheritdoc/>
    public IRemedyWording Wording => CommandLineWording.Instance;

    /// <inheritdoc/>
    public void Warning(Diagnostic warning) => Say(CommandLineWording.Instance.Text(warning));

    /// <inheritdoc/>
    public void Blocked(Diagnostic refusal) => Say(CommandLineWording.Said(refusal));

    /// <inheritdoc/>
    public void RestoreSkipped() => Console.Error.WriteLine("dotnet-sandbox: restore: up to date, skipped (run 'dotnet sandbox restore' to force it)");

    /// <inheritdoc/>
    public void RestoreNeeded(string why) => Console.Error.WriteLine($"dotnet-sandbox: restore: needed ({why})");

    /// <inheritdoc/>
    public void WideningsPending(IReadOnlyList<ProjectWidening> pending, string entry) =>
        Console.Error.WriteLine("dotnet-sandbox: " + Errors.Errors.PendingWidening.Format(
            pending.Count, string.Concat(pending.Select(w => "\n    " + w)), BwrapCommandLine.ShellQuote(Path.GetRelativePath(WorkingDirectory, entry))));

    /// <inheritdoc/>
    public void WaitingForTurn(WorkflowStep workflowStep, string repositoryRoot) =>
        Say(Errors.Errors.StepWaiting.Format(workflowStep.ToString().ToLowerInvariant(), repositoryRoot));

    /// <inheritdoc/>
    public void StepStarting(WorkflowStep workflowStep, IReadOnlyList<string> arguments, SandboxPolicy policy) =>
        Console.Error.WriteLine($"dotnet-sandbox: {workflowStep.ToString().ToLowerInvariant()}: {string.Join(' ', arguments.Select(BwrapCommandLine.ShellQuote))}  ({Describe(policy)})");

    /// <inheritdoc/>
    public void StepEnded(StepOutcome outcome, SandboxPolicy policy)
    {
        var summary = NetworkSummary.Format(outcome.Connections, policy.Network.Mode, Wording);
        if (summary.Length > 0)
        {
            Console.Error.Write("dotnet-sandbox: " + summary);
        }
    }

    /// <summary>
    /// The run's closing line: each requested step with its time (or that it was skipped, or did not
    /// run after an earlier one failed), the failing step's status, and how many destinations were
    /// refused, so that a refusal is not missed in a long log.
    /// </summary>
    internal static string Closing(IReadOnlyList<WorkflowStep> requested, WorkflowResult result)
    {
        var ran = result.Steps.ToDictionary(s => s.Step);
        var failed = result.Steps.FirstOrDefault(s => s.ExitCode != 0);
        var parts = requested.Select(step =>
        {
            var name = step.ToString().ToLowerInvariant();
            return ran.TryGetValue(step, out var outcome)
                ? $"{name} {outcome.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s" + (outcome.ExitCode != 0 ? $" (failed: exit {outcome.ExitCode})" : string.Empty)
                : failed is not null && step > failed.Step ? $"{name} not run" : $"{name} skipped";
        });
        var total = result.Steps.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Elapsed);
        var blocked = result.Steps.SelectMany(s => s.Connections).Where(c => !c.Allowed && !c.Failed).Select(c => (c.Host, c.Port)).Distinct().Count();
        var refused = blocked == 0 ? string.Empty : $"; {blocked} destination{(blocked == 1 ? string.Empty : "s")} blocked (listed above)";
        return $"{(failed is null ? "done" : "failed")} in {total.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s: {string.Join(", ", parts)}{refused}";
    }

    /// <summary>One line on what the step may do: where it writes and what it reaches.</summary>
    internal static string Describe(SandboxPolicy policy)
    {
        var writes = policy.Paths.Count(r => r.Access == PathAccess.ReadWrite && !r.Why.StartsWith("git repository", StringComparison.Ordinal));
        var network = policy.Network.Mode switch
        {
            NetworkMode.None => "no network",
            NetworkMode.Audit => "network: AUDIT",
            _ => "network: " + string.Join(", ", policy.Network.Allow.Select(h => h.ToString()).Distinct().Take(4)) + (policy.Network.Allow.Length > 4 ? ", …" : string.Empty),
        };
        return $"writes {writes} director{(writes == 1 ? "y" : "ies")}; {network}";
    }

    private static void Say(string message) => Console.Error.WriteLine("dotnet-sandbox: " + TerminalText.EscapeLine(message, keepNewlines: true));
}
