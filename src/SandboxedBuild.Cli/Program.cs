using SandboxedBuild.Cli;

return CliApp.Run(args);
