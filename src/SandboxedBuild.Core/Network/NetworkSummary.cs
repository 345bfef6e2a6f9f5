using System.Globalization;
using System.Text;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Network;

/// <summary>The one-screen account of a run's network use, printed at its end.</summary>
public static class NetworkSummary
{
    /// <summary>
    /// What was blocked and how to allow it; in audit mode, every host reached and the options that
    /// would allow exactly those. Empty when there is nothing worth saying. Names from the sandbox
    /// are escaped (<see cref="TerminalText"/>), so the text is safe for a terminal.
    /// </summary>
    /// <param name="records">The run's connection records.</param>
    /// <param name="mode">The run's network mode.</param>
    /// <param name="wording">How the host names a widening; neutral when <see langword="null"/>.</param>
    public static string Format(IReadOnlyList<ConnectionRecord> records, NetworkMode mode, IRemedyWording? wording = null) =>
        TerminalText.EscapeLine(Unescaped(records, mode, wording ?? RemedyWording.Neutral), keepNewlines: true);

    private static string Unescaped(IReadOnlyList<ConnectionRecord> records, NetworkMode mode, IRemedyWording wording)
    {
        if (records.Count == 0 || (mode != NetworkMode.Audit && records.All(r => r.Allowed)))
        {
            return string.Empty;
        }

        var sb = new StringBuilder();
        var allowed = records.Where(r => r.Allowed).ToList();
        sb.Append(CultureInfo.InvariantCulture, $"network: {allowed.Count} connection(s) through the proxy ({Size(allowed.Sum(r => r.BytesUp))} up, {Size(allowed.Sum(r => r.BytesDown))} down)");
        var blocked = records.Where(r => !r.Allowed && !r.Failed && r.Code is null).GroupBy(r => (r.Host, r.Port)).ToList();
        var refused = records.Where(r => r.Code is not null).GroupBy(r => r.Code!).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        var failed = records.Where(r => r.Failed).GroupBy(r => (r.Host, r.Port)).ToList();
        sb.Append(CultureInfo.InvariantCulture, $", {blocked.Count} destination(s) blocked");
        sb.Append(failed.Count > 0 ? $", {failed.Count} unreachable" : string.Empty);
        sb.Append(refused.Count > 0 ? $", {refused.Sum(g => g.Count())} refused before any host was decided" : string.Empty).AppendLine();
        foreach (var group in refused)
        {
            // The first request line of each kind, as recorded: escaped and bounded already.
            var count = group.Count() > 1 ? $" ({group.Count()}×)" : string.Empty;
            var first = group.First();
            var sent = first.Host == "?" ? string.Empty : $" ({TerminalText.Name(first.Host)})";
            sb.Append(CultureInfo.InvariantCulture, $"  refused: {group.Key}{count} — {first.Reason}{sent}").AppendLine();
        }

        foreach (var group in blocked.Take(20))
        {
            var count = group.Count() > 1 ? $" ({group.Count()}×)" : string.Empty;
            sb.Append(CultureInfo.InvariantCulture, $"  blocked: {Display(group.Key.Host, group.Key.Port)}{count} — {group.First().ReasonWithRemedy(wording)}").AppendLine();
        }

        if (blocked.Count > 20)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  … and {blocked.Count - 20} more").AppendLine();
        }

        foreach (var group in failed.Take(10))
        {
            var count = group.Count() > 1 ? $" ({group.Count()}×)" : string.Empty;
            sb.Append(CultureInfo.InvariantCulture, $"  failed: {Display(group.Key.Host, group.Key.Port)}{count} — allowed, but {group.First().Reason}").AppendLine();
        }

        if (mode == NetworkMode.Audit)
        {
            sb.AppendLine("  audit: hosts reached:");
            foreach (var group in allowed.GroupBy(r => (r.Host, r.Port)).OrderBy(g => g.Key.Host, StringComparer.Ordinal))
            {
                sb.Append(CultureInfo.InvariantCulture, $"    {Display(group.Key.Host, group.Key.Port)} ({group.Count()}×, {Size(group.Sum(r => r.BytesDown))} down) — {group.First().Reason}").AppendLine();
            }

            // Only what audit mode alone let through needs an option: the rest is already allowed by
            // an entry of this run (a preset, a saved host, an --allow-host), which is said instead.
            var options = allowed.Where(r => r.Rule is null)
                .Select(r => new HostRule(r.Host, HostRule.DefaultPorts.Contains(r.Port) ? null : r.Port, string.Empty).ToString()).Distinct().Order(StringComparer.Ordinal).ToList();
            var covered = allowed.Where(r => r.Rule is not null).GroupBy(r => (r.Host, r.Port)).OrderBy(g => g.Key.Host, StringComparer.Ordinal)
                .Select(g => $"{Display(g.Key.Host, g.Key.Port)} ({g.First().Rule!.Source(wording)})").ToList();
            sb.Append("  audit: to allow exactly these: ").AppendLine(options.Count > 0
                ? string.Join(' ', options.Select(wording.AllowHost))
                : "nothing to add");
            if (covered.Count > 0)
            {
                sb.Append("  audit: left out, already allowed: ").AppendLine(string.Join(", ", covered));
            }
        }

        return sb.ToString();
    }

    private static string Display(string host, int port) => TerminalText.Name(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host) + ":" + port.ToString(CultureInfo.InvariantCulture);

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.#} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB",
    };
}
