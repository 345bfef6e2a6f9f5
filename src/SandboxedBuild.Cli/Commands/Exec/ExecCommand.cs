using System.CommandLine;
using System.CommandLine.Parsing;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Cli.Commands.Exec;

/// <summary><c>dotnet sandbox exec</c>: run any command in the sandbox.</summary>
internal static class ExecCommand
{
    private static readonly string[] Formats = ["text", "json", "bwrap"];

    public static Command Create()
    {
        var allowRead = new Option<string[]>("--allow-read")
        {
            Description = "Make PATH visible, read-only. Repeatable.",
            HelpName = "PATH",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var allowWrite = new Option<string[]>("--allow-write")
        {
            Description = "Make PATH writable (changes persist). Repeatable. Refused: /, homes and their parents, the shared /tmp, and anything in system directories.",
            HelpName = "PATH",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var env = new Option<string[]>("--env")
        {
            Description = "Pass the caller's variable NAME through. Repeatable. Secret-looking names pass only this way, with a warning.",
            HelpName = "NAME",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var setenv = new Option<string[]>("--setenv")
        {
            Description = "Set NAME to VALUE inside the sandbox. Repeatable.",
            HelpName = "NAME=VALUE",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var workdir = new Option<string?>("--workdir")
        {
            Description = "Run in PATH instead of the current directory; it becomes the writable project directory.",
            HelpName = "PATH",
        };
        var printPolicy = new Option<bool>("--print-policy")
        {
            Description = "Print the policy that would apply, with the reason for every entry, and exit without running.",
        };
        var format = new Option<string>("--format")
        {
            Description = "Format for --print-policy: text (default), json, or bwrap (the exact bubblewrap command line).",
            DefaultValueFactory = _ => "text",
            HelpName = "text|json|bwrap",
        };
        var command = new Argument<string[]>("command")
        {
            Description = "The command to run and its arguments, after '--'.",
            Arity = ArgumentArity.ZeroOrMore,
        };

        var exec = new Command("exec",
            """
            Run a command inside the sandbox, from the current directory.

            The current directory is writable; the system and the .NET installation are read-only;
            the home directory, /tmp and /run are replaced by empty private ones; there is no
            network. .git/hooks, .git/config, shell rc files and IDE folders stay read-only.
            The command's stdin, stdout, stderr, exit status and Ctrl-C pass through unchanged.

            Examples:
              dotnet sandbox exec -- dotnet build
              dotnet sandbox exec --allow-read ~/data -- ./analyze.sh ~/data/input.csv
              dotnet sandbox exec --allow-write ../shared-out -- make
              dotnet sandbox exec --env CI --setenv Configuration=Release -- dotnet test
              dotnet sandbox exec --print-policy -- dotnet build
              dotnet sandbox exec --print-policy --format bwrap -- dotnet build
            """)
        {
            allowRead, allowWrite, env, setenv, workdir, printPolicy, format, command,
        };

        exec.SetAction(parse =>
        {
            CliApp.RequireSupportedPlatform();
            var argv = parse.GetValue(command) ?? [];
            var print = parse.GetValue(printPolicy);
            var tokens = parse.Tokens.ToList();
            var doubleDash = tokens.FindIndex(t => t.Type == TokenType.DoubleDash);
            if (tokens.Take(doubleDash < 0 ? tokens.Count : doubleDash).FirstOrDefault(t => t.Type == TokenType.Argument && t.Value.Length > 1 && t.Value[0] == '-') is { } unknown)
            {
                // Before '--', a word starting with '-' is an option this command does not know.
                throw new SandboxException(Errors.Errors.InvalidUsage, $"unknown option '{unknown.Value}'; put the command after '--'.", "exec");
            }

            if (argv.Length == 0 && !print)
            {
                throw new SandboxException(Errors.Errors.NoCommand);
            }

            var chosenFormat = parse.GetValue(format) ?? "text";
            if (!Formats.Contains(chosenFormat))
            {
                throw new SandboxException(Errors.Errors.InvalidOptionValue, "--format", chosenFormat, "expected text, json or bwrap.");
            }

            var options = new ExecOptions
            {
                AllowRead = parse.GetValue(allowRead) ?? [],
                AllowWrite = parse.GetValue(allowWrite) ?? [],
                PassVariables = parse.GetValue(env) ?? [],
                SetVariables = parse.GetValue(setenv) ?? [],
            };

            var warnings = new List<string>();
            var host = HostFacts.Current(parse.GetValue(workdir));
            var policy = ExecPolicyBuilder.Build(host, options, warnings);
            foreach (var warning in warnings)
            {
                Console.Error.WriteLine("dotnet-sandbox: " + warning);
            }

            if (print)
            {
                Console.Out.Write(chosenFormat switch
                {
                    "json" => PolicyWriter.ToJson(policy),
                    "bwrap" => PolicyWriter.ToBwrap(policy, argv.Length == 0 ? ["true"] : argv, host.FileSystem, Bubblewrap.Find(host.Variables, host.FileSystem) ?? "bwrap"),
                    _ => PolicyWriter.ToText(policy),
                });
                return ExitCodes.Success;
            }

            var bwrap = Bubblewrap.Require(host.Variables, host.FileSystem);
            var result = new SandboxLauncher(host.FileSystem).Run(bwrap, policy, argv);
            foreach (var warning in result.Warnings)
            {
                Console.Error.WriteLine("dotnet-sandbox: " + warning);
            }

            return result.ExitCode;
        });

        return exec;
    }
}
