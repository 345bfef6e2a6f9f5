using System.CommandLine;
using System.CommandLine.Parsing;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Network;
using SandboxedBuild.Policy;
using SandboxedBuild.MacOS;

namespace SandboxedBuild.Cli.Commands.Exec;

/// <summary><c>dotnet sandbox exec</c>: run any command in the sandbox.</summary>
internal static class ExecCommand
{
    public static Command Create()
    {
        var allowRead = CliOptions.Repeatable("--allow-read", "PATH", "Make PATH visible, read-only. Repeatable.");
        var allowWrite = CliOptions.Repeatable("--allow-write", "PATH", "Make PATH writable (changes persist). Repeatable. Refused: /, homes and their parents, the shared /tmp, and anything in system directories.");
        var env = CliOptions.Repeatable("--env", "NAME", "Pass the caller's variable NAME through. Repeatable. Secret-looking names pass only this way, with a warning.");
        var setenv = CliOptions.Repeatable("--setenv", "NAME=VALUE", "Set NAME to VALUE inside the sandbox. Repeatable.");
        var allowHost = CliOptions.Repeatable("--allow-host", "HOST[:PORT]", "Let the command reach HOST through the egress proxy: a name, *.suffix, or an address, with :PORT for ports other than 443 and 80. Repeatable.");
        var denyHost = CliOptions.Repeatable("--deny-host", "HOST[:PORT]", "Never let the command reach HOST, whatever else allows it. Repeatable.");
        var preset = CliOptions.Repeatable("--preset", "NAME", $"Allow a named set of hosts: {string.Join(", ", Presets.Names)}. 'nuget' is on by default. Repeatable.");
        var noDefaultPresets = new Option<bool>("--no-default-presets")
        {
            Description = "Leave out the presets that are on by default (nuget).",
        };
        var network = CliOptions.OneOf(
            "--network",
            "filtered (default): only allowed hosts, through the proxy; none: no network at all; audit: every host not denied, each recorded, ending with the --allow-host list that would have made the run pass.",
            "filtered",
            "filtered", "none", "audit");
        var noNetwork = new Option<bool>("--no-network")
        {
            Description = "No network at all (same as --network none): only the sandbox's own loopback.",
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
        var format = CliOptions.OneOf(
            "--format",
            "Format for --print-policy: text (default), json, bwrap (the exact bubblewrap command line), or seatbelt (the macOS profile, readable on any OS).",
            "text",
            "text", "json", "bwrap", "seatbelt");
        var tmpfsSize = CliOptions.TmpfsSize();
        var maxProcesses = CliOptions.MaxProcesses();
        var command = new Argument<string[]>("command")
        {
            Description = "The command to run and its arguments, after '--'.",
            Arity = ArgumentArity.ZeroOrMore,
        };

        var exec = new Command("exec",
            """
            Run a command inside the sandbox, from the current directory.

            The current directory is writable; the system and the .NET installation are read-only;
            the home directory, /tmp and /var/tmp are replaced by empty private ones; /run and the
            rest of /var are not there at all (with network, /run holds only the sandbox's own link
            to the proxy). The network is reachable only through an egress proxy that lets through
            the allowed hosts (by default the NuGet feed, api.nuget.org) and blocks the rest,
            saying how to allow them.
            .git/hooks, .git/config, shell rc files and IDE folders stay read-only.
            The command's stdin, stdout, stderr, exit status and Ctrl-C pass through unchanged.
            Each private directory is a tmpfs of bounded size (--tmpfs-size), and the sandbox holds
            a bounded number of processes and threads (--max-processes; not for root callers).

            Examples:
              dotnet sandbox exec -- dotnet build
              dotnet sandbox exec --allow-read ~/data -- ./analyze.sh ~/data/input.csv
              dotnet sandbox exec --allow-write ../shared-out -- make
              dotnet sandbox exec --allow-host pkgs.example.com -- dotnet restore
              dotnet sandbox exec --preset npm -- npm ci
              dotnet sandbox exec --network audit -- ./build.sh      (then copy the --allow-host list it prints)
              dotnet sandbox exec --no-network -- dotnet test --no-restore
              dotnet sandbox exec --env CI --setenv Configuration=Release -- dotnet test
              dotnet sandbox exec --tmpfs-size 512M --max-processes 256 -- ./build.sh
              dotnet sandbox exec --print-policy -- dotnet build
              dotnet sandbox exec --print-policy --format bwrap -- dotnet build
            """)
        {
            allowRead, allowWrite, env, setenv, allowHost, denyHost, preset, noDefaultPresets, network, noNetwork, workdir, tmpfsSize, maxProcesses, printPolicy, format, command,
        };

        exec.SetAction(parse =>
        {
            CliApp.RequireSupportedPlatform();
            var argv = parse.GetValue(command) ?? [];
            var print = parse.GetValue(printPolicy);
            CliOptions.RejectUnknownOptions(parse, "exec", "put the command after '--'.");
            InputCheck.RequirePath("--workdir", parse.GetValue(workdir));
            if (argv.Length > 0)
            {
                InputCheck.RequireCommand(argv[0]);
                InputCheck.RequireArguments(argv[1..], "the command");
            }

            if (argv.Length == 0 && !print)
            {
                throw new SandboxException(Errors.Errors.NoCommand);
            }

            var chosenFormat = parse.GetValue(format) ?? "text";
            var networkMode = parse.GetValue(noNetwork) ? NetworkMode.None : (parse.GetValue(network) ?? "filtered") switch
            {
                "none" => NetworkMode.None,
                "audit" => NetworkMode.Audit,
                _ => NetworkMode.Filtered,
            };

            var host = HostFacts.Current(parse.GetValue(workdir));
            var savedHostsFile = UserHostsFile.PathFor(host.Variables, host.HomeDirectory);
            var options = new ExecOptions
            {
                AllowRead = parse.GetValue(allowRead) ?? [],
                AllowWrite = parse.GetValue(allowWrite) ?? [],
                PassVariables = parse.GetValue(env) ?? [],
                SetVariables = parse.GetValue(setenv) ?? [],
                NetworkMode = networkMode,
                AllowHosts = parse.GetValue(allowHost) ?? [],
                DenyHosts = parse.GetValue(denyHost) ?? [],
                Presets = parse.GetValue(preset) ?? [],
                NoDefaultPresets = parse.GetValue(noDefaultPresets),
                SavedHosts = UserHostsFile.Load(savedHostsFile),
                Wording = CommandLineWording.Instance,
                TmpfsSize = parse.GetValue(tmpfsSize),
                MaxProcesses = parse.GetValue(maxProcesses),
                // Any port is free in the sandbox's fresh network namespace; a random one keeps
                // commands from hard-coding (or colliding with) the proxy's.
                ProxyPort = print ? 3128 : Random.Shared.Next(20000, 60000),
            };

            InputCheck.Check(options);
            var warnings = new List<Diagnostic>();
            var policy = ExecPolicyBuilder.Build(host, options, warnings);
            foreach (var warning in warnings)
            {
                Console.Error.WriteLine("dotnet-sandbox: " + TerminalText.EscapeLine(CommandLineWording.Instance.Text(warning), keepNewlines: true));
            }

            if (print)
            {
                Console.Out.Write(chosenFormat switch
                {
                    "json" => PolicyWriter.ToJson(policy, CommandLineWording.Instance),
                    "bwrap" => BwrapCommandLine.ToShell(policy, argv.Length == 0 ? ["true"] : argv, host.FileSystem, Bubblewrap.Find(host.Variables, host.FileSystem) ?? "bwrap"),
                    "seatbelt" => SeatbeltProfile.ForPrinting(policy, host.HomeDirectory, CommandLineWording.Instance),
                    _ => PolicyWriter.ToText(policy, CommandLineWording.Instance),
                });
                return ExitCodes.Success;
            }

            var bwrap = Bubblewrap.Require(host.Variables, host.FileSystem);
            var hooks = new NetworkHooks
            {
                Prompt = TerminalPrompt.IfInteractive(),
                OnBlocked = refusal => Console.Error.WriteLine("dotnet-sandbox: " + TerminalText.EscapeLine(CommandLineWording.Said(refusal), keepNewlines: true)),
                OnAlways = rule => UserHostsFile.Append(savedHostsFile, rule),
                Wording = CommandLineWording.Instance,
            };
            var result = new SandboxRunner(host.FileSystem, BridgeLocation.NextToThisTool()).Run(bwrap, policy, argv, hooks, control: RunControl.ProcessSignals);
            foreach (var warning in result.Warnings)
            {
                Console.Error.WriteLine("dotnet-sandbox: " + TerminalText.EscapeLine(CommandLineWording.Instance.Text(warning), keepNewlines: true));
            }

            var summary = NetworkSummary.Format(result.Connections, policy.Network.Mode, CommandLineWording.Instance);
            if (summary.Length > 0)
            {
                Console.Error.Write("dotnet-sandbox: " + summary);
            }

            return result.ExitCode;
        });

        return exec;
    }
}
