using SandboxedBuild.Cli;
using SandboxedBuild.Network;

// The bridge runs inside the sandbox on every networked run: dispatch it before anything else.
return args.Length > 0 && args[0] == Bridge.CommandName ? Bridge.Run(args[1..]) : CliApp.Run(args);
