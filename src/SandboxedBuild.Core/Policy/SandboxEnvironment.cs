using System.Collections.Immutable;
using SandboxedBuild.Errors;
using SandboxedBuild.Network;

namespace SandboxedBuild.Policy;

/// <summary>The environment a sandboxed command starts with: nothing is inherited unless a rule says so.</summary>
internal static class SandboxEnvironment
{
    /// <summary>
    /// <c>NUGET_PACKAGES</c> for the packages folder <paramref name="folder"/>, spelled as a plain restore
    /// would record it: the caller's own value when the caller set it to this folder, else the folder with
    /// a trailing slash, as NuGet writes a folder from its configuration or its default. The restore
    /// records the spelling in <c>obj/*.dgspec.json</c>; a different one (a missing slash) makes a plain
    /// <c>dotnet build</c> afterwards restore again.
    /// </summary>
    internal static string NuGetPackagesValue(string folder, HostFacts host) =>
        host.Variables.TryGetValue("NUGET_PACKAGES", out var own) && own.Length > 0 && PathUtil.Normalize(own, host.WorkingDirectory) == PathUtil.Normalize(folder, "/")
            ? own
            : PathUtil.Normalize(folder, "/").TrimEnd('/') + "/";

    /// <summary>
    /// The variables: the allow-listed ones of the caller, the sandbox's own (home, temporary directory,
    /// packages folder, proxy), the project's, then those the options pass or set, each with its reason.
    /// </summary>
    public static ImmutableArray<EnvironmentEntry> Build(HostFacts host, ExecOptions options, string packages, NetworkPolicy network, ICollection<Diagnostic> warnings, IReadOnlyList<EnvironmentEntry> workEnvironment)
    {
        var env = new Dictionary<string, EnvironmentEntry>(StringComparer.Ordinal);
        var words = options.Wording ?? RemedyWording.Neutral;
        foreach (var (name, value) in host.Variables.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            if (EnvironmentFilter.PassesByDefault(name, value))
            {
                env[name] = new EnvironmentEntry(name, value, "passed through: on the allow-list");
            }
        }

        void Set(string name, string value, string reason) => env[name] = new EnvironmentEntry(name, value, reason);
        Set("HOME", host.HomeDirectory, "same path as outside; the directory is a private empty one");
        Set("TMPDIR", "/tmp", "the private temporary directory");
        Set("NUGET_PACKAGES", NuGetPackagesValue(packages, host), "the host's packages folder, so builds find restored packages");
        Set("MSBUILDDISABLENODEREUSE", "1", "build nodes die with the sandbox; do not leave them waiting for reuse");
        Set("DOTNET_CLI_TELEMETRY_OPTOUT", "1", "telemetry hosts are not on the allowlist; it could only time out");
        Set("DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE", "1", "the workload update check could only fail without its hosts");
        if (network.Mode != NetworkMode.None)
        {
            var proxy = $"http://127.0.0.1:{network.ProxyPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            foreach (var name in new[] { "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy" })
            {
                Set(name, proxy, "the egress proxy: the only way out of the sandbox");
            }

            Set("NO_PROXY", "localhost,127.0.0.1,::1", "loopback inside the sandbox is the sandbox's own");
            Set("no_proxy", "localhost,127.0.0.1,::1", "loopback inside the sandbox is the sandbox's own");
        }

        Set("DOTNET_SKIP_WORKLOAD_INTEGRITY_CHECK", "1", "the check writes into the read-only .NET installation and reports a false problem");
        Set("DOTNET_NOLOGO", "1", "the private home is new on every run; skip the first-run banner");
        Set("DOTNET_SKIP_FIRST_TIME_EXPERIENCE", "1", "the private home is new on every run");
        foreach (var entry in workEnvironment)
        {
            env[entry.Name] = entry;
        }

        foreach (var name in options.PassVariables)
        {
            if (!EnvironmentFilter.IsValidName(name))
            {
                throw new SandboxException(Errors.Errors.InvalidVariableName, name);
            }

            if (!host.Variables.TryGetValue(name, out var value))
            {
                warnings.Add(Errors.Errors.PassedVariableUnset.With(name));
                continue;
            }

            var secret = EnvironmentFilter.LooksSecret(name);
            if (secret)
            {
                warnings.Add(Errors.Errors.SecretPassedExplicitly.With(name, words.Setting(Origin.Settings.Env)));
            }

            env[name] = new EnvironmentEntry(name, value, string.Empty, secret || EnvironmentFilter.LooksSecretValue(value), Origin.Setting(Origin.Settings.Env));
        }

        foreach (var assignment in options.SetVariables)
        {
            var eq = assignment.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? assignment : assignment[..eq];
            if (eq < 0)
            {
                throw new SandboxException(Errors.Errors.InvalidOptionValue, words.Setting(Origin.Settings.SetEnv), assignment, "expected NAME=VALUE.");
            }

            if (!EnvironmentFilter.IsValidName(name))
            {
                throw new SandboxException(Errors.Errors.InvalidVariableName, name);
            }

            var secret = EnvironmentFilter.LooksSecret(name);
            if (secret)
            {
                warnings.Add(Errors.Errors.SecretPassedExplicitly.With(name, words.Setting(Origin.Settings.SetEnv)));
            }

            env[name] = new EnvironmentEntry(name, assignment[(eq + 1)..], string.Empty, secret || EnvironmentFilter.LooksSecretValue(assignment[(eq + 1)..]), Origin.Setting(Origin.Settings.SetEnv));
        }

        // Said by name (never by value): a test that reads MY_SETTING and gets nothing is told why.
        var dropped = host.Variables.Keys
            .Where(name => !env.ContainsKey(name) && !EnvironmentFilter.IsSessionVariable(name) && !EnvironmentFilter.LooksSecret(name) && EnvironmentFilter.IsValidName(name))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (dropped.Count > 0)
        {
            // Every name, however many: the one a test needs is as likely to be last as first.
            warnings.Add(Errors.Errors.VariablesNotPassed.With(dropped.Count, dropped.Count == 1 ? "is" : "are", string.Join(", ", dropped)));
        }

        return [.. env.Values.OrderBy(e => e.Name, StringComparer.Ordinal)];
    }
}
