using System.CommandLine;
using SandboxedBuild.Errors;
using SandboxedBuild.Inference;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Cli.Commands.Project;

/// <summary><c>dotnet sandbox trust</c>: approve, outside the sandbox, what the project files ask for.</summary>
internal static class TrustCommand
{
    public static Command Create()
    {
        var yes = new Option<bool>("--yes", "-y") { Description = "Approve everything listed without asking." };
        var revoke = new Option<bool>("--revoke") { Description = "Forget every approval for this project." };
        var arguments = CliOptions.ProjectArgument(string.Empty);
        var command = new Command("trust",
            """
            Review and approve the widenings a project's own files ask for: hosts in
            SandboxAllowedHost items, package sources and folders of a NuGet.config in the
            repository or above it, output or package directories outside the repository. Sandboxed code can edit those files, so
            nothing they ask for takes effect until you approve it here, outside the sandbox.

            Approvals are stored in ~/.config/dotnet-sandbox/trusted.json (outside every project),
            one per request: what is asked and which file asks. A new or changed request waits for
            a new approval; the rest of the project can change freely.

            Examples:
              dotnet sandbox trust                 list what is asked, and approve after a prompt
              dotnet sandbox trust --yes App.sln   approve without a prompt (scripts)
              dotnet sandbox trust --revoke        forget this project's approvals
            """)
        {
            arguments, yes, revoke,
        };
        var noCache = new Option<bool>("--no-cache") { Description = "Evaluate the projects again instead of using the cached inference." };
        command.Options.Add(noCache);
        command.SetAction(parse =>
        {
            CliApp.RequireSupportedPlatform();
            var (projectArgument, _) = CliOptions.SplitProjectArguments(parse, "trust");
            Policy.InputCheck.RequirePath("PROJECT", projectArgument);
            var host = Policy.HostFacts.Current();
            var storeFile = TrustStore.PathFor(host.Variables, host.HomeDirectory);
            var store = TrustStore.Load(storeFile);
            if (parse.GetValue(revoke) && projectArgument is not null && !File.Exists(Policy.PathUtil.Normalize(projectArgument, host.WorkingDirectory)) && !Directory.Exists(Policy.PathUtil.Normalize(projectArgument, host.WorkingDirectory)))
            {
                // A project that was moved or deleted: its approvals are forgotten by the path it had.
                var gone = Policy.PathUtil.Normalize(projectArgument, host.WorkingDirectory);
                Console.Out.WriteLine($"forgot {store.Revoke(gone)} approval(s) for {gone}");
                return ExitCodes.Success;
            }

            var entry = ProjectFiles.Locate(projectArgument, host.WorkingDirectory, "trust");
            if (parse.GetValue(revoke))
            {
                var count = store.Revoke(entry);
                Console.Out.WriteLine($"forgot {count} approval(s) for {entry}");
                return ExitCodes.Success;
            }

            Policy.InputCheck.RequireProjectWithoutLink(host, entry, "trust");
            var bwrap = Bubblewrap.Require(host.Variables, host.FileSystem);
            var model = Workflow.Infer(host, entry, bwrap, !parse.GetValue(noCache), warning => Console.Error.WriteLine("dotnet-sandbox: " + TerminalText.EscapeLine(CommandLineWording.Instance.Text(warning), keepNewlines: true)), RunControl.ProcessSignals);
            var refused = new List<Diagnostic>();
            var all = StepPolicyBuilder.AllWidenings(host, model, refused);
            foreach (var warning in refused)
            {
                Console.Error.WriteLine("dotnet-sandbox: " + TerminalText.EscapeLine(CommandLineWording.Instance.Text(warning), keepNewlines: true));
            }

            if (all.Count == 0)
            {
                Console.Out.WriteLine($"{entry}: the project files ask for nothing beyond the default policy.");
                return ExitCodes.Success;
            }

            var waiting = all.Where(w => !store.IsApproved(entry, w)).ToList();
            Console.Out.WriteLine($"{entry} asks for:");
            foreach (var w in all)
            {
                Console.Out.WriteLine($"  [{(store.IsApproved(entry, w) ? "approved" : "pending ")}] {w}");
            }

            if (waiting.Count == 0)
            {
                Console.Out.WriteLine("everything is approved.");
                return ExitCodes.Success;
            }

            if (!parse.GetValue(yes))
            {
                if (Console.IsInputRedirected)
                {
                    Console.Out.WriteLine($"{waiting.Count} pending; nothing approved (no terminal to ask at). Approve with: dotnet sandbox trust --yes {BwrapCommandLine.ShellQuote(Path.GetRelativePath(host.WorkingDirectory, entry))}");
                    return 1;
                }

                Console.Out.Write($"approve the {waiting.Count} pending widening(s)? [y/N] ");
                var answer = Console.In.ReadLine()?.Trim();
                if (!string.Equals(answer, "y", StringComparison.OrdinalIgnoreCase) && !string.Equals(answer, "yes", StringComparison.OrdinalIgnoreCase))
                {
                    Console.Out.WriteLine("nothing approved.");
                    return 1;
                }
            }

            store.Approve(entry, waiting);
            Console.Out.WriteLine($"approved {waiting.Count} widening(s); stored in {storeFile}");
            return ExitCodes.Success;
        });
        return command;
    }
}
