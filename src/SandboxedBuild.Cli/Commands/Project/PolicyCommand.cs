using System.CommandLine;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;
using SandboxedBuild.Inference;
using SandboxedBuild.MacOS;

namespace SandboxedBuild.Cli.Commands.Project;

/// <summary><c>dotnet sandbox policy</c>: what a step of the project may do, and why.</summary>
internal static class PolicyCommand
{
    public static Command Create()
    {
        WorkflowStep[] every = [WorkflowStep.Restore, WorkflowStep.Build, WorkflowStep.Test, WorkflowStep.Run];
        var options = new StepOptions("policy", every);
        var step = CliOptions.OneOf("--step", "The step whose policy to print: restore, build, test (default) or run.", "test", "restore", "build", "test", "run");
        var format = CliOptions.OneOf(
            "--format",
            "text (default): every path, host and variable with its reason; json: the same for programs; bwrap: the exact bubblewrap command line; seatbelt: the macOS profile.",
            "text",
            "text", "json", "bwrap", "seatbelt");
        var arguments = CliOptions.ProjectArgument(string.Empty);
        var command = new Command("policy",
            """
            Print the policy a step of the project runs under, inferred from the project files:
            readable, writable and hidden paths, reachable hosts, the environment, and for each
            entry the property, file or default that put it there. Widenings the project asks for
            but you have not approved are listed at the end.

            Examples:
              dotnet sandbox policy
              dotnet sandbox policy App.sln --step restore
              dotnet sandbox policy --step build --format bwrap
              dotnet sandbox policy --format seatbelt          (readable on any OS)
            """)
        {
            arguments, step, format,
        };
        options.AddTo(command);
        command.SetAction(parse =>
        {
            CliApp.RequireSupportedPlatform();
            var (projectArgument, _) = CliOptions.SplitProjectArguments(parse, "policy");
            var chosenFormat = parse.GetValue(format) ?? "text";
            var chosenStep = Enum.Parse<WorkflowStep>(parse.GetValue(step) ?? "test", ignoreCase: true);
            // The options routed as the command that runs every step would route them; the step shown is the one chosen.
            var request = options.Request(parse, projectArgument, "policy", every) with { Steps = [chosenStep] };
            var context = Workflow.Open(request, new ConsoleWorkflowObserver());
            var host = context.Host;
            var warnings = new List<Diagnostic>();
            var sanitized = context.Model.NuGet.UserConfigFile is { } user && File.Exists(user) ? "(a credential-free copy made for each run)" : null;
            if (sanitized is not null && chosenStep == WorkflowStep.Restore)
            {
                // What the copy would leave out (SBX3020), or why none can be made (SBX3021), as a restore would say.
                _ = NuGetConfigSanitizer.Sanitize(File.ReadAllText(context.Model.NuGet.UserConfigFile!), out _, warnings, context.Model.NuGet.UserConfigFile!);
            }

            // The step's policy as a run would have it (Workflow.Plan), with the printed proxy port.
            var plan = context.Plan(chosenStep, Workflow.OptionsFor(request, chosenStep) with { ProxyPort = 3128 }, warnings, sanitized);
            foreach (var warning in warnings)
            {
                Console.Error.WriteLine("dotnet-sandbox: " + TerminalText.EscapeLine(CommandLineWording.Instance.Text(warning), keepNewlines: true));
            }

            var command = Workflow.DotnetArguments(chosenStep, context.Entry, request.StepArguments.GetValueOrDefault(chosenStep) ?? [], []);
            switch (chosenFormat)
            {
                case "json":
                    Console.Out.Write(StepPolicyDocument.From(plan, chosenStep, command, context.Entry, context.Model.RepositoryRoot, CommandLineWording.Instance).ToJson());
                    break;
                case "bwrap":
                    Console.Out.Write(BwrapCommandLine.ToShell(plan.Policy, command, host.FileSystem, Bubblewrap.Find(host.Variables, host.FileSystem) ?? "bwrap"));
                    break;
                case "seatbelt":
                    Console.Out.Write(SeatbeltProfile.ForPrinting(plan.Policy, host.HomeDirectory, CommandLineWording.Instance));
                    break;
                default:
                    Console.Out.WriteLine($"step: {chosenStep.ToString().ToLowerInvariant()} — {string.Join(' ', command.Select(BwrapCommandLine.ShellQuote))}");
                    Console.Out.WriteLine($"project: {context.Entry} (repository {context.Model.RepositoryRoot}; {context.Model.Projects.Length} project(s))");
                    Console.Out.WriteLine();
                    Console.Out.Write(PolicyWriter.ToText(plan.Policy, CommandLineWording.Instance));
                    if (plan.Applied.Count > 0)
                    {
                        Console.Out.WriteLine();
                        Console.Out.WriteLine("approved project widenings in effect:");
                        plan.Applied.ToList().ForEach(w => Console.Out.WriteLine("  " + w));
                    }

                    if (plan.Pending.Count > 0)
                    {
                        Console.Out.WriteLine();
                        Console.Out.WriteLine("asked for by the project files, NOT in effect until approved ('dotnet sandbox trust'):");
                        plan.Pending.ToList().ForEach(w => Console.Out.WriteLine("  " + w));
                    }

                    break;
            }

            Console.Error.WriteLine($"dotnet-sandbox: policy inferred in {context.Model.Elapsed.TotalMilliseconds:0} ms{(context.Model.FromCache ? " (cached)" : string.Empty)}");
            return ExitCodes.Success;
        });
        return command;
    }
}
