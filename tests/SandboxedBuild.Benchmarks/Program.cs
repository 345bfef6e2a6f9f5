using BenchmarkDotNet.Running;

// eng/bench.sh section 6 runs these: dotnet run -c Release -- --filter '*' (BenchmarkDotNet's own options).
BenchmarkSwitcher.FromAssembly(typeof(SandboxedBuild.Benchmarks.PathChecks).Assembly).Run(args);
