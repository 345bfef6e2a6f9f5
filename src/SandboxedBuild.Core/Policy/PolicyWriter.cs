using System.Text;
using System.Text.Json;
using SandboxedBuild.Network;

namespace SandboxedBuild.Policy;

/// <summary>Prints a policy for people (text) and programs (json); each backend prints how it enforces one (<c>BwrapCommandLine.ToShell</c>, <c>SeatbeltProfile.ForPrinting</c>).</summary>
public static class PolicyWriter
{
    /// <summary>The version of the JSON shape; bumped on any incompatible change.</summary>
    public const int JsonSchemaVersion = 1;

    /// <summary>What a listing shows for a value that looks like a secret.</summary>
    internal const string Masked = "<hidden: looks like a secret>";

    /// <summary>A one-screen, human-readable listing with a reason per entry.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="wording">How the host names the settings rules come from; <see cref="RemedyWording.Neutral"/> when <see langword="null"/>.</param>
    public static string ToText(SandboxPolicy policy, IRemedyWording? wording = null)
    {
        wording ??= RemedyWording.Neutral;
        var sb = new StringBuilder();
        sb.Append("working directory: ").AppendLine(policy.WorkingDirectory);
        sb.AppendLine();
        sb.AppendLine("file system (most specific path wins):");
        // With network, bubblewrap also binds what the bridge to the proxy needs (see BwrapCommandLine).
        (string Path, string Reason)[] bridge = policy.Network.Mode == NetworkMode.None ? [] :
        [
            (Bridge.SocketDirectoryInside, "the egress proxy's socket: a private directory of this run on the host, read-only"),
            (BridgeMounts.ToolDirectoryInside, "the bridge (dotnet-sandbox-bridge), read-only: it runs first, relays connections to the proxy, then starts the command"),
        ];
        var lines = TextLines(policy.Paths, wording);
        var width = lines.Select(l => l.Path).Concat(bridge.Select(b => b.Path)).Max(p => p.Length);
        foreach (var (label, path, reason) in lines)
        {
            sb.Append("  ").Append(label.PadRight(10)).Append(' ').Append(path.PadRight(width)).Append("  — ").AppendLine(reason);
        }

        foreach (var (path, reason) in bridge)
        {
            sb.Append("  ").Append(Label(PathAccess.ReadOnly).PadRight(10)).Append(' ').Append(path.PadRight(width)).Append("  — ").AppendLine(reason);
        }

        sb.AppendLine("  everything else on the host is not visible");
        sb.AppendLine();
        sb.Append("network: ").AppendLine(policy.Network.Reason);
        if (policy.Network.Mode != NetworkMode.None)
        {
            sb.Append("  proxy inside the sandbox: http://127.0.0.1:").AppendLine(policy.Network.ProxyPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (var rule in policy.Network.Allow)
            {
                var forwarded = policy.Network.LoopbackForwards().Any(f => f.Rule == rule)
                    ? $" (forwarded: port {rule.Port} on the sandbox's loopback leads to this machine's 127.0.0.1:{rule.Port})"
                    : string.Empty;
                sb.Append("  allow  ").Append(rule.ToString().PadRight(32)).Append("  — ").Append(rule.Reason(wording)).AppendLine(forwarded);
            }

            foreach (var rule in policy.Network.Deny)
            {
                sb.Append("  deny   ").Append(rule.ToString().PadRight(32)).Append("  — ").AppendLine(rule.Reason(wording));
            }

            sb.AppendLine("  an allow entry without a port covers 443 and 80; a deny entry without a port, every port");
            sb.Append("  a name is never connected to these addresses, and one asked for literally needs an allow entry for that very address: ")
                .AppendJoin("; ", AddressGuard.RefusedKinds.Select(k => $"{k.Kind} ({k.Addresses})")).AppendLine();
        }
        sb.AppendLine();
        sb.AppendLine("resource bounds:");
        sb.Append("  each private tmpfs (home, /tmp, /var/tmp, /dev/shm): ").Append(ResourceBounds.FormatSize(policy.Bounds.TmpfsBytes))
            .Append("  — ").AppendLine(policy.Bounds.TmpfsReason);
        sb.Append("  processes, threads included: at most ").Append(policy.Bounds.MaxProcesses.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Append(" at once  — ").Append(policy.Bounds.MaxProcessesReason)
            .Append(policy.Bounds.ProcessBoundEnforced ? "; held by " : "; NOT enforced: held by ").AppendLine(policy.Bounds.ProcessBoundBy);
        sb.AppendLine("  memory and CPU: not bounded");
        sb.AppendLine();
        sb.AppendLine("environment (nothing else is passed):");
        foreach (var env in policy.Environment)
        {
            sb.Append("  ").Append(env.Name).Append('=').Append(env.LooksSecret ? Masked : env.Value).Append("  — ").AppendLine(env.Reason(wording));
        }

        return sb.ToString();
    }

    /// <summary>
    /// The path rules as listing lines, with siblings folded into one line so the listing stays one
    /// screen: many entries of one directory with the same access and reason (package versions kept
    /// read-only), and the protected names below one writable directory. JSON lists every entry.
    /// </summary>
    internal static List<(string Label, string Path, string Reason)> TextLines(IReadOnlyList<PathRule> rules, IRemedyWording wording)
    {
        const int FoldAt = 4;
        const int FoldAnywhereAt = 8;

        // Many entries with one reason fold into one line wherever they are (package versions below
        // their ids); fewer fold when they share a directory.
        var many = rules.GroupBy(r => (r.Access, Reason: r.Reason(wording))).Where(g => g.Count() >= FoldAnywhereAt && g.Key.Access != PathAccess.Protected)
            .Select(g => g.Key).ToHashSet();
        string Key(PathRule r) => r.Access == PathAccess.Protected && r.Why.EndsWith("runs outside the sandbox", StringComparison.Ordinal)
            ? "protected\n" + Path.GetDirectoryName(r.Path)
            : many.Contains((r.Access, r.Reason(wording))) ? $"{r.Access}\n{r.Reason(wording)}" : $"{r.Access}\n{r.Reason(wording)}\n{Path.GetDirectoryName(r.Path)}";
        var groups = rules.GroupBy(Key).ToDictionary(g => g.Key, g => g.ToList());
        var lines = new List<(string, string, string)>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            var key = Key(rule);
            var group = groups[key];
            if (group.Count < FoldAt)
            {
                lines.Add((Label(rule.Access), rule.Path, rule.Reason(wording)));
                continue;
            }

            if (!done.Add(key))
            {
                continue;
            }

            if (many.Contains((rule.Access, rule.Reason(wording))))
            {
                var ancestor = group.Select(r => Path.GetDirectoryName(r.Path)!).Aggregate(CommonAncestor);
                lines.Add((Label(rule.Access), $"{(ancestor == "/" ? string.Empty : ancestor)}/*/*", $"{rule.Reason(wording)} ({group.Count} entries, such as {Path.GetRelativePath(ancestor, group[0].Path)})"));
                continue;
            }

            var names = group.Select(r => Path.GetFileName(r.Path)).ToList();
            var shown = names.Count > 8 ? string.Join(',', names.Take(6)) + $",… {names.Count - 6} more" : string.Join(',', names);
            var reason = rule.Access == PathAccess.Protected
                ? "run code outside the sandbox later (shell startup files, direnv, IDE, dev container and git hook folders); read-only, missing ones held by placeholders"
                : rule.Reason(wording);
            var parent = Path.GetDirectoryName(rule.Path) is "/" ? string.Empty : Path.GetDirectoryName(rule.Path);
            lines.Add((Label(rule.Access), $"{parent}/{{{shown}}}", reason));
        }

        return lines;
    }

    private static string CommonAncestor(string a, string b)
    {
        while (!PathUtil.IsSameOrUnder(b, a))
        {
            a = Path.GetDirectoryName(a) ?? "/";
        }

        return a;
    }

    /// <summary>The policy as JSON (schema version <see cref="JsonSchemaVersion"/>).</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="wording">How the host names the settings rules come from, in each <c>reason</c>; <see cref="RemedyWording.Neutral"/> when <see langword="null"/>. Each <c>origin</c> says the same as data.</param>
    public static string ToJson(SandboxPolicy policy, IRemedyWording? wording = null) =>
        JsonSerializer.Serialize(PolicyDocument.From(policy, wording), PolicyJson.Default.PolicyDocument) + Environment.NewLine;

    /// <summary>The word a listing uses for <paramref name="access"/>; the seatbelt profile's comments use it too.</summary>
    internal static string Label(PathAccess access) => access switch
    {
        PathAccess.ReadOnly => "read",
        PathAccess.ReadWrite => "write",
        PathAccess.Scratch => "private",
        PathAccess.Hidden => "hidden",
        PathAccess.Protected => "protected",
        _ => access.ToString(),
    };
}
