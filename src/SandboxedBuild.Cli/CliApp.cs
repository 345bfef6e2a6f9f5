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
        if (result.CommandResult.Command == root)
        {
            // The top-level help lists each command in one line; 'dotnet sandbox CMD --help' has the rest.
            foreach (var command in root.Subcommands)
            {
                command.Description = Summary(command.Description ?? string.Empty);
            }

            if (result.UnmatchedTokens.Count > 0 && result.UnmatchedTokens[0] is { } word && !word.StartsWith('-') && result.Tokens.Count > 0 && result.Tokens[0].Value == word)
            {
                // One error for a mistyped command, not the parser's two ("required command", "unrecognized").
                var near = CommandNames.Nearest(word, root.Subcommands.Select(c => c.Name));
                Console.Error.WriteLine(UsageLine($"unknown command '{TerminalText.Name(word)}'" + (near is null ? "." : $"; did you mean '{near}'?"), string.Empty));
                return ExitCodes.SandboxFailure;
            }
        }

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

                Console.Error.WriteLine(UsageLine(error.Message, commandName));
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

    // SBX1001 as the parser's errors are said: for the top level, the hint names 'dotnet sandbox --help'.
    private static string UsageLine(string message, string commandName) =>
        "dotnet-sandbox: " + Errors.Errors.InvalidUsage.Format(message, commandName).Replace("dotnet sandbox  --help", "dotnet sandbox --help", StringComparison.Ordinal);

    // A command's description, shortened to its first sentence; a long one up to its first ':' or ';'.
    private static string Summary(string description)
    {
        var sentence = description.Split("\n\n", 2)[0].ReplaceLineEndings(" ").Split(". ", 2)[0].TrimEnd('.');
        if (sentence.Length > 80 && sentence.IndexOfAny([':', ';']) is > 0 and var cut)
        {
            sentence = sentence[..cut];
        }

        return sentence + ".";
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
