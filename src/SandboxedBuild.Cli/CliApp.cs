using System.CommandLine;
using SandboxedBuild.Cli.Commands.Doctor;
using SandboxedBuild.Cli.Commands.Exec;
using SandboxedBuild.Cli.Commands.Project;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;

namespace SandboxedBuild.Cli;

/// <summary>The command tree and the rules every command shares: coded errors, reserved exit codes.</summary>
internal static class CliApp
{
    public static int Run(string[] args)
    {
        var root = new RootCommand(
            """
            Run restores, builds, tests and any command inside an OS sandbox that cannot read your
            secrets, write outside the project, or reach the network.

            Examples:
              dotnet sandbox test                          restore, build and test, each step sandboxed
              dotnet sandbox policy --step build           what the build step may do, and why
              dotnet sandbox exec -- ./script.sh           any command, the current directory writable
              dotnet sandbox exec --print-policy -- true   show what the sandbox allows, and why
              dotnet sandbox doctor                        check that this machine can sandbox

            Exit status: the command's own; 125 when the sandbox itself failed (an SBXnnnn line on
            stderr says why), 126 when the command cannot be executed, 127 when it is not found.
            """);
        root.Subcommands.Add(ExecCommand.Create());
        foreach (var step in StepCommands.Create())
        {
            root.Subcommands.Add(step);
        }

        root.Subcommands.Add(PolicyCommand.Create());
        root.Subcommands.Add(TrustCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());

        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            var commandName = result.CommandResult.Command == root ? string.Empty : result.CommandResult.Command.Name;
            var status = ExitCodes.SandboxFailure;
            foreach (var error in result.Errors)
            {
                // A value an option's own parser refused keeps its code (SBX1007, SBX1013); the rest is usage.
                if (CliOptions.RefusalOf(error) is { } refusal)
                {
                    status = Fail(refusal);
                    continue;
                }

                Console.Error.WriteLine("dotnet-sandbox: " + Errors.Errors.InvalidUsage.Format(error.Message, commandName).Replace("dotnet sandbox  --help", "dotnet sandbox --help", StringComparison.Ordinal));
            }

            return status;
        }

        try
        {
            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (SandboxException ex)
        {
            return Fail(ex);
        }
    }

    /// <summary>Reports an expected failure on stderr and returns its exit status.</summary>
    public static int Fail(SandboxException ex)
    {
        Console.Error.WriteLine("dotnet-sandbox: " + TerminalText.EscapeLine(CommandLineWording.Instance.Text(ex.Diagnostic), keepNewlines: true));
        return ex.ExitCode;
    }

    /// <summary>Throws the coded error for platforms without a backend.</summary>
    public static void RequireSupportedPlatform() => SupportedPlatform.Require();
}
