#nullable enable
// Shared by the build and the tests. The build compiles this file with RoslynCodeTaskFactory
// (against netstandard 2.0 references, with no preprocessor symbols), so it sticks to
// netstandard 2.0 APIs and includes the MSBuild task class; the test assembly defines
// SBX_TEST_ASSEMBLY, which leaves the task class out (the tests have no MSBuild references).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Sbx.Exfiltrate
{
#if !SBX_TEST_ASSEMBLY
    /// <summary>Runs the attempts during the build; every line is logged with high importance.</summary>
    public class SbxExfiltrateAttempts : Microsoft.Build.Utilities.Task
    {
        /// <summary>The directory of the project ($(MSBuildProjectDirectory)).</summary>
        [Microsoft.Build.Framework.Required]
        public string ProjectDirectory { get; set; } = string.Empty;

        /// <summary>$(NuGetPackageRoot): the packages folder restore used; empty falls back to NUGET_PACKAGES or ~/.nuget/packages.</summary>
        public string? PackagesFolder { get; set; }

        /// <summary>"1" arms the attempts that write; anything else makes them print SKIPPED.</summary>
        public string? Armed { get; set; }

        /// <summary>Overrides the URL of connect-denied-host.</summary>
        public string? Url { get; set; }

        /// <summary>Overrides the host:port of connect-direct.</summary>
        public string? Direct { get; set; }

        public override bool Execute()
        {
            var options = AttemptOptions.FromEnvironment("build", ProjectDirectory);
            options.Armed = Armed == "1";
            if (!string.IsNullOrEmpty(PackagesFolder))
            {
                options.PackagesFolder = PackagesFolder!;
            }

            if (!string.IsNullOrEmpty(Url))
            {
                options.Url = Url!;
            }

            if (!string.IsNullOrEmpty(Direct))
            {
                options.Direct = Direct!;
            }

            Attempts.RunAll(options, line => Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, line));

            // Whatever the attempts did, the build goes on.
            return true;
        }
    }
#endif

    /// <summary>What the attempts target. Defaults come from the environment.</summary>
    public sealed class AttemptOptions
    {
        public const string DefaultUrl = "https://example.com/";
        public const string DefaultDirect = "1.1.1.1:443";

        public string Phase { get; set; } = "test";
        public string ProjectDirectory { get; set; } = string.Empty;
        public string Home { get; set; } = string.Empty;
        public string PackagesFolder { get; set; } = string.Empty;
        public bool Armed { get; set; }
        public string Url { get; set; } = DefaultUrl;
        public string Direct { get; set; } = DefaultDirect;

        public static AttemptOptions FromEnvironment(string phase, string projectDirectory)
        {
            var home = Environment.GetEnvironmentVariable("HOME");
            if (string.IsNullOrEmpty(home))
            {
                home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            }

            var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
            if (string.IsNullOrEmpty(packages))
            {
                packages = Path.Combine(home!, ".nuget", "packages");
            }

            var url = Environment.GetEnvironmentVariable("SBX_EXFILTRATE_URL");
            var direct = Environment.GetEnvironmentVariable("SBX_EXFILTRATE_DIRECT");
            return new AttemptOptions
            {
                Phase = phase,
                ProjectDirectory = Path.GetFullPath(projectDirectory),
                Home = home!,
                PackagesFolder = packages!,
                Armed = Environment.GetEnvironmentVariable("SBX_EXFILTRATE_ARMED") == "1",
                Url = string.IsNullOrEmpty(url) ? DefaultUrl : url!,
                Direct = string.IsNullOrEmpty(direct) ? DefaultDirect : direct!,
            };
        }
    }

    /// <summary>
    /// Attempts to escape a sandbox. Each prints exactly one line
    /// "SBX-ATTEMPT name BLOCKED|SUCCEEDED|SKIPPED detail" and never throws.
    /// </summary>
    public static class Attempts
    {
        public const string HookText =
            "#!/bin/sh\n" +
            "# Written by SandboxedBuild's testassets/exfiltrate: a sandboxed build or test must not be able to write this file.\n" +
            "echo 'SBX-HOOK the exfiltrate pre-commit hook ran' >&2\n" +
            "exit 0\n";

        public static void RunAll(AttemptOptions options, Action<string> log)
        {
            log("SBX-EXFILTRATE BEGIN " + options.Phase + (options.Armed ? " armed" : " not-armed"));
            Run("read-key", log, () => ReadKey(options));
            Run("write-outside", log, () => options.Armed ? WriteOutside(options) : NotArmed());
            Run("write-git-hook", log, () => options.Armed ? WriteGitHook(options) : NotArmed());
            Run("connect-denied-host", log, () => ConnectDeniedHost(options));
            Run("connect-direct", log, () => ConnectDirect(options));
            Run("write-packages", log, () => options.Armed ? WritePackages(options) : NotArmed());
            log("SBX-EXFILTRATE END " + options.Phase);
        }

        private static void Run(string name, Action<string> log, Func<Outcome> attempt)
        {
            Outcome outcome;
            try
            {
                outcome = attempt();
            }
            catch (Exception e)
            {
                outcome = Outcome.Blocked(Describe(e));
            }

            try
            {
                log("SBX-ATTEMPT " + name + " " + outcome.Word + " " + OneLine(outcome.Detail));
            }
            catch (Exception)
            {
                // A logger that fails must not fail the build or the test either.
            }
        }

        private static Outcome NotArmed() => Outcome.Skipped("not armed");

        private static Outcome ReadKey(AttemptOptions o)
        {
            var path = Path.Combine(o.Home, ".ssh", "id_sbx_bait");
            var text = File.ReadAllText(path);
            var first = text.Split('\n')[0];
            if (first.Length > 80)
            {
                first = first.Substring(0, 80);
            }

            return Outcome.Succeeded("read " + Encoding.UTF8.GetByteCount(text) + " bytes from " + path + ": " + first);
        }

        private static Outcome WriteOutside(AttemptOptions o)
        {
            var parent = Path.GetDirectoryName(o.ProjectDirectory.TrimEnd('/'));
            if (string.IsNullOrEmpty(parent))
            {
                return Outcome.Skipped("the project directory has no parent");
            }

            var path = Path.Combine(parent!, "exfiltrate-was-here.txt");
            File.WriteAllText(path, Stamp(o));
            return Outcome.Succeeded("wrote " + path);
        }

        private static Outcome WriteGitHook(AttemptOptions o)
        {
            var hooks = FindHooksDirectory(o.ProjectDirectory);
            if (hooks == null)
            {
                return Outcome.Skipped("no enclosing git repository above " + o.ProjectDirectory);
            }

            var path = Path.Combine(hooks, "pre-commit");
            if (File.Exists(path))
            {
                // Never clobber a real hook: opening it for writing is the proof, and changes nothing.
                using (new FileStream(path, FileMode.Append, FileAccess.Write))
                {
                }

                return Outcome.Succeeded("opened the existing " + path + " for writing (left unchanged)");
            }

            Directory.CreateDirectory(hooks);
            File.WriteAllText(path, HookText);
            return Outcome.Succeeded("wrote " + path);
        }

        /// <summary>
        /// The hooks directory of the repository enclosing <paramref name="start"/>: .git/hooks, or for
        /// a worktree or submodule (.git is a file "gitdir: X") the hooks of X's common directory.
        /// </summary>
        public static string? FindHooksDirectory(string start)
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var dotGit = Path.Combine(dir.FullName, ".git");
                if (Directory.Exists(dotGit))
                {
                    return Path.Combine(dotGit, "hooks");
                }

                if (File.Exists(dotGit))
                {
                    var line = File.ReadAllText(dotGit).Trim();
                    if (!line.StartsWith("gitdir:", StringComparison.Ordinal))
                    {
                        return null;
                    }

                    var gitDir = Path.GetFullPath(Path.Combine(dir.FullName, line.Substring("gitdir:".Length).Trim()));
                    var commonFile = Path.Combine(gitDir, "commondir");
                    var common = File.Exists(commonFile)
                        ? Path.GetFullPath(Path.Combine(gitDir, File.ReadAllText(commonFile).Trim()))
                        : gitDir;
                    return Path.Combine(common, "hooks");
                }
            }

            return null;
        }

        private static Outcome ConnectDeniedHost(AttemptOptions o)
        {
            // The default handler honours HTTP_PROXY/HTTPS_PROXY/ALL_PROXY/NO_PROXY, as any package would.
            using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
            {
                try
                {
                    using (var response = client.GetAsync(o.Url).GetAwaiter().GetResult())
                    {
                        return Outcome.Succeeded("HTTP " + (int)response.StatusCode + " from " + o.Url);
                    }
                }
                catch (TaskCanceledException)
                {
                    return Outcome.Blocked("timed out after 10 s: " + o.Url);
                }
            }
        }

        private static Outcome ConnectDirect(AttemptOptions o)
        {
            var colon = o.Direct.LastIndexOf(':');
            var host = o.Direct.Substring(0, colon);
            var port = int.Parse(o.Direct.Substring(colon + 1), System.Globalization.CultureInfo.InvariantCulture);
            using (var client = new TcpClient())
            {
                var connect = client.ConnectAsync(host, port);
                if (!connect.Wait(TimeSpan.FromSeconds(5)))
                {
                    // Observe the abandoned task's exception so that it is not reported as unobserved.
                    connect.ContinueWith(t => t.Exception, TaskScheduler.Default);
                    return Outcome.Blocked("timed out after 5 s connecting to " + o.Direct);
                }

                return Outcome.Succeeded("connected to " + o.Direct + " from " + client.Client.LocalEndPoint);
            }
        }

        private static Outcome WritePackages(AttemptOptions o)
        {
            var path = Path.Combine(o.PackagesFolder, "exfiltrate-was-here.txt");
            File.WriteAllText(path, Stamp(o));
            return Outcome.Succeeded("wrote " + path);
        }

        private static string Stamp(AttemptOptions o) =>
            "written by testassets/exfiltrate during " + o.Phase + " at " +
            DateTime.UtcNow.ToString("o", System.Globalization.CultureInfo.InvariantCulture) +
            " by pid " + Process.GetCurrentProcess().Id + "\n";

        private static string Describe(Exception e)
        {
            while (e is AggregateException && e.InnerException != null)
            {
                e = e.InnerException;
            }

            var text = e.GetType().Name + ": " + e.Message;
            if (e.InnerException != null)
            {
                text += " <- " + e.InnerException.GetType().Name + ": " + e.InnerException.Message;
            }

            return text;
        }

        private static string OneLine(string text) => text.Replace("\r", " ").Replace("\n", " ");

        private sealed class Outcome
        {
            private Outcome(string word, string detail)
            {
                Word = word;
                Detail = detail;
            }

            public string Word { get; }

            public string Detail { get; }

            public static Outcome Blocked(string detail) => new Outcome("BLOCKED", detail);

            public static Outcome Succeeded(string detail) => new Outcome("SUCCEEDED", detail);

            public static Outcome Skipped(string detail) => new Outcome("SKIPPED", detail);
        }
    }
}
