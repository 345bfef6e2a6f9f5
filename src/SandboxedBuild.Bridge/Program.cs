return args is [SandboxedBuild.Linux.Supervisor.CommandName, ..] ? SandboxedBuild.Linux.Supervisor.Run(args) : SandboxedBuild.Network.Bridge.Run(args);
