using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace SandboxedBuild.IntegrationTests.Infrastructure;

/// <summary>The result of one run of the tool.</summary>
public sealed record CliResult(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// Runs the real <c>dotnet-sandbox</c> as a process, as the current user or as an unprivileged one.
/// </summary>
public static class Cli
{
    public const string UnprivilegedUser = "sbx-test";

    private static readonly Lazy<string> CliDirectory = new(PrepareCliDirectory);
    private static readonly Lazy<(int Uid, int Gid)?> UnprivilegedIds = new(EnsureUnprivilegedUser);

    public static string TestAssets { get; } = Metadata("TestAssets");

    public static bool IsRoot => Environment.IsPrivilegedProcess;

    /// <summary>The bridge as the build lays it out next to the tool (on the JIT), for tests that host the sandbox themselves.</summary>
    public static string BridgeAssembly => Path.Combine(CliDirectory.Value, "dotnet-sandbox-bridge.dll");

    /// <summary>Skips the unprivileged variant when the tests already run unprivileged (the current variant covers it).</summary>
    public static void SkipIfRedundant(Identity identity)
    {
        if (identity == Identity.Unprivileged && !IsRoot)
        {
            Assert.Skip("the tests already run as an unprivileged user: the Current variant covers this");
        }
    }

    public static (int Uid, int Gid)? IdsFor(Identity identity) => identity == Identity.Unprivileged && IsRoot ? UnprivilegedIds.Value : null;

    /// <summary>The command line that runs the tool as <paramref name="identity"/>.</summary>
    public static List<string> CommandLine(Identity identity, IEnumerable<string> args)
    {
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var line = new List<string>();
        if (IdsFor(identity) is { } ids)
        {
            line.AddRange(["setpriv", $"--reuid={ids.Uid}", $"--regid={ids.Gid}", "--clear-groups", "--"]);
        }

        line.AddRange([dotnet, Path.Combine(CliDirectory.Value, "dotnet-sandbox.dll")]);
        line.AddRange(args);
        return line;
    }

    /// <summary>Starts the tool; the caller owns the process.</summary>
    public static Process Start(Identity identity, Workspace ws, IEnumerable<string> args, IDictionary<string, string>? extraEnv = null)
    {
        var line = CommandLine(identity, args);
        var psi = new ProcessStartInfo(line[0])
        {
            WorkingDirectory = ws.Project,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in line.Skip(1))
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment.Clear();
        foreach (var (k, v) in ws.Environment(extraEnv))
        {
            psi.Environment[k] = v;
        }

        return Process.Start(psi)!;
    }

    /// <summary>Runs the tool to completion.</summary>
    public static CliResult Run(Identity identity, Workspace ws, IEnumerable<string> args, string? stdin = null, IDictionary<string, string>? extraEnv = null, int timeoutSeconds = 180)
    {
        using var process = Start(identity, ws, args, extraEnv);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet-sandbox {string.Join(' ', args)} did not finish in {timeoutSeconds} s");
        }

        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs <c>exec -- /bin/sh -c SCRIPT</c>.</summary>
    public static CliResult Sh(Identity identity, Workspace ws, string script, string? stdin = null, IDictionary<string, string>? extraEnv = null, params string[] options) =>
        Run(identity, ws, [.. "exec".Split(' '), .. options, "--", "/bin/sh", "-c", script], stdin, extraEnv);

    private static string Metadata(string key) => typeof(Cli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    // A copy in a world-readable place, so that the unprivileged user can run it wherever the
    // checkout lives (a home directory that is 0700, for example).
    private static string PrepareCliDirectory()
    {
        var source = Metadata("CliDirectory");
        var target = Path.Combine(Path.GetTempPath(), "sbx-it-cli-" + Environment.ProcessId);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        }

        File.SetUnixFileMode(target, (UnixFileMode)Convert.ToInt32("755", 8));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(target);
        return target;
    }

    private static (int, int)? EnsureUnprivilegedUser()
    {
        if (Exec("id", "-u", UnprivilegedUser).ExitCode != 0)
        {
            var add = Exec("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", UnprivilegedUser);
            Assert.True(add.ExitCode == 0, "could not create the unprivileged test user: " + add);
        }

        var uid = int.Parse(Exec("id", "-u", UnprivilegedUser).StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var gid = int.Parse(Exec("id", "-g", UnprivilegedUser).StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return (uid, gid);
    }

    /// <summary>Runs a host command (outside any sandbox).</summary>
    public static CliResult Exec(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout.Result, stderr);
    }

    /// <summary>
    /// Runs a host command and types <paramref name="answer"/> on its standard input each time its
    /// output shows <paramref name="prompt"/>, as a person at the terminal would.
    /// </summary>
    public static CliResult ExecAnswering(string prompt, string answer, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = new System.Text.StringBuilder();
        var reader = Task.Run(() =>
        {
            var buffer = new char[256];
            var answered = 0;
            int read;
            while ((read = process.StandardOutput.Read(buffer, 0, buffer.Length)) > 0)
            {
                output.Append(buffer, 0, read);
                var seen = System.Text.RegularExpressions.Regex.Count(output.ToString(), System.Text.RegularExpressions.Regex.Escape(prompt));
                for (; answered < seen; answered++)
                {
                    process.StandardInput.Write(answer);
                    process.StandardInput.Flush();
                }
            }
        });
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} did not finish in 120 s");
        }

        reader.Wait(TimeSpan.FromSeconds(10));
        return new CliResult(process.ExitCode, output.ToString(), stderr.Result);
    }

    internal static void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    internal static string Quote(string arg) =>
        arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) && arg.Length > 0
            ? arg
            : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    internal static string ShellLine(IEnumerable<string> args)
    {
        var sb = new StringBuilder();
        foreach (var arg in args)
        {
            sb.Append(Quote(arg)).Append(' ');
        }

        return sb.ToString().TrimEnd();
    }
}
