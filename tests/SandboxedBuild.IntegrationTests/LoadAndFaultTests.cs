using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SandboxedBuild.IntegrationTests.Infrastructure;
using SandboxedBuild.Errors;

namespace SandboxedBuild.IntegrationTests;

/// <summary>
/// Load and faults seen from the host: 200 tunnels open at once through one sandbox (the server
/// counts them), 1 GiB of the command's stdout byte-exact with the tool's peak memory flat, and the
/// egress proxy killed or wedged mid-transfer (a test seam in the tool's own environment) ending the
/// command's connection at once and the run with a coded error; each next to the healthy variant.
/// </summary>
public sealed class LoadAndFaultTests
{
    private const string Curl = "curl -sS --noproxy '' -p";

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Two_hundred_concurrent_tunnels_through_one_sandbox_all_carry_their_own_bytes(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        const int Tunnels = 200;
        const long Size = 256 * 1024;
        // Nothing is answered until all 200 are open at once: a proxy that served fewer at a time would stall here.
        using var server = new LoopbackLoadServer(Size, holdUntilOpen: Tunnels);
        var transfers = string.Join(' ', Enumerable.Range(1, Tunnels).Select(i => $"-o out/{i} http://127.0.0.1:{server.Port}/t{i}"));
        var script = $"mkdir out && {Curl} --max-time 60 -Z --parallel-immediate --parallel-max {Tunnels} {transfers}; echo curl-exit=$?; cd out && sha256sum *";
        var r = Cli.Sh(id, ws, script, null, null, "--allow-host", $"127.0.0.1:{server.Port}");

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("curl-exit=0\n", r.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(Tunnels, server.MaxOpen);
        var hashes = r.StandardOutput.Split('\n').Where(l => l.Contains("  ", StringComparison.Ordinal))
            .Select(l => l.Split("  ")).ToDictionary(p => p[1], p => p[0], StringComparer.Ordinal);
        Assert.Equal(Tunnels, hashes.Count);
        for (var i = 1; i <= Tunnels; i++)
        {
            var name = i.ToString(CultureInfo.InvariantCulture);
            Assert.True(hashes.TryGetValue(name, out var hash), $"no output for tunnel {i}\n{r}");
            Assert.True(LoopbackLoadServer.Sha256(LoopbackLoadServer.Body($"/t{i}", Size)) == hash, $"tunnel {i} carried other bytes\n{r}");
        }

        Assert.DoesNotContain("SBX6007", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void Tunnels_churned_200_at_a_time_against_a_server_slow_to_close_are_all_served(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        // Each server side stays 2 s after curl has closed its tunnel: with 200 transfers always
        // running, far more than the proxy's 256 are alive at once, most of them only closing. Fewer
        // than 512 transfers in all, so only the bound on open ones can refuse.
        const int Transfers = 450;
        using var server = new LoopbackLoadServer(4096, linger: TimeSpan.FromSeconds(2));
        var script = $"for i in $(seq 1 {Transfers}); do printf 'url = \"http://127.0.0.1:{server.Port}/%d\"\\noutput = \"/dev/null\"\\n' $i; done > urls.conf && " +
            $"{Curl} --fail --max-time 60 -Z --parallel-immediate --parallel-max 200 -K urls.conf; echo curl-exit=$?";
        var r = Cli.Sh(id, ws, script, null, null, "--allow-host", $"127.0.0.1:{server.Port}");

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("curl-exit=0\n", r.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("SBX6007", r.StandardError, StringComparison.Ordinal);
        Assert.Equal(Transfers, server.Connections);
        Assert.True(server.MaxOpen > 256, $"only {server.MaxOpen} server connections were open at once: the test did not churn past the bound");
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public async Task A_gibibyte_of_stdout_passes_byte_exact_and_the_tool_does_not_hold_it(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        const long Size = 1L << 30;
        const string Line = "sandbox-stdout-load-0123456789abcdefghijklmnopqrstuvwxyz";
        using var process = Cli.Start(id, ws, ["exec", "--", "/bin/sh", "-c", $"yes {Line} | head -c {Size}"]);
        process.StandardInput.Close();
        var cancel = TestContext.Current.CancellationToken;
        var stderr = process.StandardError.ReadToEndAsync(cancel);

        // Peak memory of the tool (the process is setpriv's, which execs the tool in place), read
        // while the stream passes and once more when the last byte has arrived (the tool waits for
        // the command then): whatever it buffered would show here.
        long peak = 0;
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                Interlocked.Exchange(ref peak, Math.Max(Interlocked.Read(ref peak), HighWaterMark(process.Id)));
                await Task.Delay(50, CancellationToken.None);
            }
        }, cancel);

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var stdout = process.StandardOutput.BaseStream;
        var buffer = new byte[1 << 20];
        long count = 0;
        int read;
        while ((read = await stdout.ReadAsync(buffer, cancel)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            count += read;
            if (count == Size)
            {
                Interlocked.Exchange(ref peak, Math.Max(Interlocked.Read(ref peak), HighWaterMark(process.Id)));
            }
        }

        await sampling.CancelAsync();
        await sampler;
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "the tool did not exit");
        var errors = await stderr;
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{errors}");
        Assert.Equal(Size, count);
        Assert.Equal(ExpectedHash(Line + "\n", Size), Convert.ToHexStringLower(sha.GetHashAndReset()));
        Assert.True(peak > 0, "the tool's peak memory could not be read");
        Assert.True(peak < 200L << 20, $"the tool's peak RSS was {peak >> 20} MiB for {Size >> 20} MiB of stdout");
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_proxy_killed_mid_transfer_ends_the_clients_connection_at_once_and_the_run_with_SBX6009(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        // The server never ends the body: only the fault can end the transfer before curl's 60 s.
        using var endless = new LoopbackLoadServer(bodySize: null);
        var script = $"{Curl} --max-time 60 -o /dev/null http://127.0.0.1:{endless.Port}/a; rc=$?; echo curl-exit=$rc; "
            + $"{Curl} --max-time 60 -o /dev/null http://127.0.0.1:{endless.Port}/b; echo second-exit=$?; exit $rc";
        var fault = new Dictionary<string, string> { ["DOTNET_SANDBOX_TEST_PROXY_FAULT"] = "kill-after:8388608" };
        var watch = Stopwatch.StartNew();
        var r = Cli.Sh(id, ws, script, null, fault, "--allow-host", $"127.0.0.1:{endless.Port}");
        watch.Stop();

        var rc = CurlExit(r);
        Assert.True(rc != 0, r.ToString());
        Assert.True(r.ExitCode == rc, r.ToString()); // the command's own status
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"the run took {watch.Elapsed}\n{r}");
        Assert.Matches(@"second-exit=[1-9]", r.StandardOutput); // refused at once after the fault
        Assert.Contains("SBX6009: the egress proxy failed during the run", r.StandardError, StringComparison.Ordinal);
        Assert.Contains($"The command exited with status {rc}.", r.StandardError, StringComparison.Ordinal);
        Assert.Equal(1, endless.Connections);

        // The same transfer, finite, without the fault: complete, no code.
        using var finite = new LoopbackLoadServer(bodySize: 16 << 20);
        var ok = Cli.Sh(id, ws, $"{Curl} --max-time 60 -o /dev/null -w '%{{size_download}}\\n' http://127.0.0.1:{finite.Port}/a", null, null,
            "--allow-host", $"127.0.0.1:{finite.Port}");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Equal($"{16 << 20}\n", ok.StandardOutput);
        Assert.DoesNotContain("SBX60", ok.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_proxy_that_stops_reading_is_noticed_within_its_stall_timeout_and_the_run_ends_with_SBX6010(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        using var endless = new LoopbackLoadServer(bodySize: null);
        var script = $"{Curl} --max-time 90 -o /dev/null http://127.0.0.1:{endless.Port}/a; rc=$?; echo curl-exit=$rc; exit $rc";
        var fault = new Dictionary<string, string> { ["DOTNET_SANDBOX_TEST_PROXY_FAULT"] = "wedge-after:8388608" };
        var watch = Stopwatch.StartNew();
        var r = Cli.Sh(id, ws, script, null, fault, "--allow-host", $"127.0.0.1:{endless.Port}");
        watch.Stop();

        var rc = CurlExit(r);
        Assert.True(rc != 0, r.ToString());
        Assert.True(r.ExitCode == rc, r.ToString());
        // The watchdog's stall timeout is 10 s (ProxyLimits.StallTimeout); curl would wait 90.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(40), $"the run took {watch.Elapsed}\n{r}");
        Assert.Contains("SBX6010: the egress proxy stopped moving data (a relayed connection had bytes waiting for 10 s", r.StandardError, StringComparison.Ordinal);
        Assert.Contains($"The command exited with status {rc}.", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Identities.All), MemberType = typeof(Identities))]
    public void A_restore_of_many_packages_opens_dozens_of_connections_at_once_through_the_proxy(Identity id)
    {
        Cli.SkipIfRedundant(id);
        using var ws = new Workspace(id);
        const int Packages = 48;
        var feedDir = Directory.CreateDirectory(Path.Combine(ws.Root, "feed")).FullName;
        for (var i = 1; i <= Packages; i++)
        {
            WritePackage(feedDir, $"Sbx.Load.P{i:00}", "1.0.0");
        }

        using var feed = new LoopbackNuGetFeed(feedDir);
        using var relay = new LoopbackCountingRelay(feed.Port);
        feed.AdvertisedPort = relay.Port;
        File.WriteAllText(Path.Combine(ws.Project, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="load" value="http://127.0.0.1:{relay.Port}/v3/index.json" allowInsecureConnections="true" />
              </packageSources>
            </configuration>
            """);
        var references = string.Concat(Enumerable.Range(1, Packages).Select(i => $"""<PackageReference Include="Sbx.Load.P{i:00}" Version="1.0.0" />"""));
        File.WriteAllText(Path.Combine(ws.Project, "load.csproj"),
            $"""<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup><ItemGroup>{references}</ItemGroup></Project>""");
        File.Copy(Path.Combine(Cli.TestAssets, "Directory.Build.props"), Path.Combine(ws.Project, "Directory.Build.props"));
        ws.FixOwnership();

        var r = Cli.Run(id, ws, ["exec", "--allow-host", $"127.0.0.1:{relay.Port}", "--", "dotnet", "restore", "--packages", "packages", "-nologo"], timeoutSeconds: 300);
        Assert.True(r.ExitCode == 0, r.ToString());
        for (var i = 1; i <= Packages; i++)
        {
            var folder = Path.Combine(ws.Project, "packages", $"sbx.load.p{i:00}", "1.0.0");
            Assert.True(File.Exists(Path.Combine(folder, $"sbx.load.p{i:00}.1.0.0.nupkg")), $"package {i} was not restored\n{r}");
        }

        Assert.True(relay.MaxOpen >= 24, $"only {relay.MaxOpen} connections were open at once ({relay.Connections} in all)\n{r}");
        Assert.Equal(2 * Packages + 1, feed.Requests.Count); // the index, and per package its versions and its file
        Assert.DoesNotContain("SBX60", r.StandardError, StringComparison.Ordinal);
    }

    /// <summary>A package with only its manifest, which is all a restore needs.</summary>
    private static void WritePackage(string folder, string packageId, string version)
    {
        using var zip = System.IO.Compression.ZipFile.Open(Path.Combine(folder, $"{packageId}.{version}.nupkg"), System.IO.Compression.ZipArchiveMode.Create);
        using var writer = new StreamWriter(zip.CreateEntry(packageId + ".nuspec").Open());
        writer.Write($"""
            <?xml version="1.0" encoding="utf-8"?>
            <package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
              <metadata><id>{packageId}</id><version>{version}</version><authors>test</authors><description>load test</description></metadata>
            </package>
            """);
    }

    private static int CurlExit(CliResult r)
    {
        var line = r.StandardOutput.Split('\n').FirstOrDefault(l => l.StartsWith("curl-exit=", StringComparison.Ordinal));
        Assert.True(line is not null, r.ToString());
        return int.Parse(line!["curl-exit=".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>VmHWM of <paramref name="pid"/> in bytes, or 0 once it is gone.</summary>
    private static long HighWaterMark(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static string ExpectedHash(string unit, long size)
    {
        var bytes = Encoding.ASCII.GetBytes(unit);
        var block = new byte[bytes.Length * 16384];
        for (var i = 0; i < block.Length; i++)
        {
            block[i] = bytes[i % bytes.Length];
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var left = size; left > 0; left -= block.Length)
        {
            sha.AppendData(block, 0, (int)Math.Min(block.Length, left));
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
