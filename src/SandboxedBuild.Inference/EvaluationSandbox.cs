using System.Collections.Immutable;
using System.Text.Json;
using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Inference;

/// <summary>
/// Runs MSBuild evaluations inside a sandbox: the repository read-only, no network, and one file per
/// answer writable. Evaluation runs project code (property functions read files, SDK resolvers run), so
/// its answers are read back as what they are: the sandbox's words, in files it could write.
/// </summary>
internal static class EvaluationSandbox
{
    /// <summary>
    /// Evaluates <paramref name="entry"/> (a project, or every project of a solution) and the projects they
    /// reference inside the visible tree, each evaluation in the sandbox.
    /// </summary>
    public static ImmutableArray<ProjectEvaluation> EvaluateClosure(HostFacts host, string entry, string repoRoot, string bwrap, RunControl? control, IReadOnlyList<string> properties)
    {
        var pending = ProjectFiles.IsSolution(entry) ? ProjectFiles.ProjectsOfSolution(entry).ToList() : [entry];
        var done = new Dictionary<string, ProjectEvaluation>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            foreach (var evaluation in EvaluateInSandbox(host, pending, repoRoot, bwrap, control, properties))
            {
                done[evaluation.ProjectPath] = evaluation;
            }

            // Referenced projects build too; evaluate those the solution did not list. Only inside the visible tree.
            pending = [.. done.Values.SelectMany(p => p.ProjectReferences)
                .Where(r => !done.ContainsKey(r) && File.Exists(r) && PathUtil.IsSameOrUnder(r, repoRoot))
                .Distinct(StringComparer.Ordinal)];
        }

        return [.. done.Values.OrderBy(p => p.ProjectPath, StringComparer.Ordinal)];
    }

    private static List<ProjectEvaluation> EvaluateInSandbox(HostFacts host, List<string> projects, string repoRoot, string bwrap, RunControl? control, IReadOnlyList<string> properties)
    {
        // A directory of this run's own (0700), holding one file per answer that the tool creates
        // before the run. Each file is bound into the sandbox by itself, so that the evaluation (which
        // runs the repository's code) can write into it but cannot remove, rename or replace it: the
        // directory itself is not visible inside, and a mount point cannot be unlinked.
        if (OperatingSystem.IsWindows())
        {
            throw new SandboxException(Errors.Errors.PlatformNotSupported, "Windows");
        }

        // With an owner lock, so that a later run removes it should this one be killed (Leftovers).
        var owned = OwnedDirectory.Create(Path.GetTempPath(), "dotnet-sandbox-eval-");
        var results = owned.Path;
        try
        {
            var rules = new List<PathRule> { new(repoRoot, PathAccess.ReadOnly, "the repository, read-only: MSBuild evaluates its projects") };
            for (var i = 0; i < projects.Count; i++)
            {
                foreach (var kind in ResultKinds)
                {
                    var file = ResultFile(results, i, kind);
                    using (new FileStream(file, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
                    {
                    }

                    rules.Add(new PathRule(file, PathAccess.ReadWrite, "an evaluation answer: a file this run created, writable but not replaceable"));
                }
            }

            // One sandbox, the evaluations in parallel inside it; each writes JSON, a log and its status to its files.
            var script = MsBuildEvaluation.ShellScript(properties.Count);
            var work = new WorkArea(rules, Environment: [new EnvironmentEntry("R", results, "where the evaluations write their answers")]);
            var evalHost = host with { WorkingDirectory = repoRoot };
            var policy = ExecPolicyBuilder.Build(evalHost, new ExecOptions { NetworkMode = NetworkMode.None }, new List<Diagnostic>(), work);
            var launch = new SandboxLauncher(host.FileSystem).Run(bwrap, policy, ["/bin/sh", "-c", script, "sh", .. properties.Select(p => "-property:" + p), .. projects], streams: CommandStreams.Discarded, control: control);
            var list = new List<ProjectEvaluation>();
            for (var i = 0; i < projects.Count; i++)
            {
                // Read back as what they are: the sandbox's words, in files it could write.
                var recorded = SafeFile.ReadAllText(ResultFile(results, i, "rc"), 64).Trim();
                var rc = recorded.Length == 0
                    ? launch.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : int.TryParse(recorded, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var code) ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";
                var json = SafeFile.ReadAllText(ResultFile(results, i, "json"), SafeFile.DefaultMaxBytes);
                if (rc != "0" || json.Length == 0)
                {
                    throw new SandboxException(Errors.Errors.ProjectEvaluationFailed, TerminalText.Escape(projects[i], 4096), rc, MsBuildEvaluation.ErrorExcerpt(SafeFile.ReadAllText(ResultFile(results, i, "out"), SafeFile.DefaultMaxBytes)));
                }

                try
                {
                    list.Add(MsBuildEvaluation.Parse(projects[i], json));
                }
                catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    throw new SandboxException(Errors.Errors.ProjectEvaluationFailed, TerminalText.Escape(projects[i], 4096), rc, TerminalText.Escape("unexpected answer: " + ex.Message, MsBuildEvaluation.ExcerptLength));
                }
            }

            return list;
        }
        finally
        {
            owned.Dispose();
        }
    }

    private static readonly string[] ResultKinds = ["json", "out", "rc"];

    private static string ResultFile(string results, int index, string kind) =>
        Path.Combine(results, index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "." + kind);
}
