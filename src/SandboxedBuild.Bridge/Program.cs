return SandboxedBuild.Network.Bridge.Run(args);
