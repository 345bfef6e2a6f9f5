using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Inference;

/// <summary>What a widening asks for.</summary>
public enum WideningKind
{
    /// <summary>A host the steps may reach.</summary>
    Host,

    /// <summary>A directory outside the repository the steps may write.</summary>
    Write,

    /// <summary>A directory outside the repository the steps may read (a fallback or local package folder).</summary>
    Read,
}

/// <summary>
/// Something the project's own files ask the sandbox to allow beyond its defaults. The sandboxed
/// code can edit those files, so a widening takes effect only once the user approves it outside.
/// </summary>
/// <param name="Kind">Host or path.</param>
/// <param name="Value">The host pattern or the path.</param>
/// <param name="Origin">Where it comes from, in words ("source 'internal' in /repo/NuGet.config").</param>
/// <param name="Steps">The steps it applies to.</param>
public sealed record ProjectWidening(WideningKind Kind, string Value, string Origin, IReadOnlyList<WorkflowStep> Steps)
{
    /// <summary>The approval key: a hash of what is asked and where it comes from, for this entry.</summary>
    public string Key(string entry) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{entry}\n{Kind}\n{Value}\n{Origin}")));

    /// <summary>One line for people.</summary>
    public override string ToString() =>
        $"{Kind switch { WideningKind.Host => "reach", WideningKind.Read => "read", _ => "write" }} {Value} ({string.Join('/', Steps.Select(s => s.ToString().ToLowerInvariant()))}) — {Origin}";
}

/// <summary>
/// The user's approvals of project widenings, in the user's configuration directory (outside every
/// project, hidden from the sandbox): one JSON file mapping an entry to the keys approved for it.
/// </summary>
public sealed class TrustStore
{
    private readonly string _file;
    private readonly Dictionary<string, SortedDictionary<string, string>> _approved = new(StringComparer.Ordinal);

    private TrustStore(string file) => _file = file;

    /// <summary>Where the approvals live: <c>$XDG_CONFIG_HOME/dotnet-sandbox/trusted.json</c>, else <c>~/.config/…</c>.</summary>
    public static string PathFor(IReadOnlyDictionary<string, string> variables, string home) =>
        Path.Combine(variables.TryGetValue("XDG_CONFIG_HOME", out var xdg) && xdg.StartsWith('/') ? xdg : home + "/.config", "dotnet-sandbox", "trusted.json");

    /// <summary>Loads the store; a missing or unreadable file is an empty store.</summary>
    public static TrustStore Load(string file)
    {
        var store = new TrustStore(file);
        try
        {
            if (File.Exists(file))
            {
                var document = JsonSerializer.Deserialize(File.ReadAllBytes(file), InferenceJson.Default.TrustDocument) ?? throw new JsonException("the store is null");
                Documents.NoNulls(document.Approved.Values);
                foreach (var (entry, approved) in document.Approved)
                {
                    var keys = new SortedDictionary<string, string>(StringComparer.Ordinal);
                    foreach (var (key, what) in approved)
                    {
                        keys[key] = what ?? string.Empty;
                    }

                    store._approved[entry] = keys;
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            // Nothing approved: the safe reading of a damaged file.
        }

        return store;
    }

    /// <summary>Whether the user approved <paramref name="widening"/> for <paramref name="entry"/>.</summary>
    public bool IsApproved(string entry, ProjectWidening widening) =>
        _approved.TryGetValue(AsStored(entry), out var keys) && keys.ContainsKey(widening.Key(entry));

    /// <summary>Approves and saves (merged with what concurrent runs saved meanwhile).</summary>
    public void Approve(string entry, IEnumerable<ProjectWidening> widenings)
    {
        var list = widenings.ToList();
        var stored = AsStored(entry);
        Update(store =>
        {
            if (!store._approved.TryGetValue(stored, out var keys))
            {
                store._approved[stored] = keys = new SortedDictionary<string, string>(StringComparer.Ordinal);
            }

            foreach (var w in list)
            {
                keys[w.Key(entry)] = w.ToString();
            }

            return 0;
        });
    }

    /// <summary>Forgets every approval for <paramref name="entry"/> and saves; returns how many there were.</summary>
    public int Revoke(string entry) => Update(store => store._approved.Remove(AsStored(entry), out var keys) ? keys.Count : 0);

    /// <summary>
    /// A change made to the file as it is now, not as this store read it: under the file's lock,
    /// re-read, changed, written atomically; this store then holds the result. Two runs that approve
    /// at the same moment so keep each other's approvals.
    /// </summary>
    private int Update(Func<TrustStore, int> change)
    {
        using var fileLock = UserFileLock.Acquire(_file);
        var fresh = Load(_file);
        var result = change(fresh);
        fresh.Save();
        _approved.Clear();
        foreach (var (entry, keys) in fresh._approved)
        {
            _approved[entry] = keys;
        }

        return result;
    }

    /// <summary>
    /// An entry as the file holds it: through UTF-8, as the JSON writer writes it and the reader reads
    /// it back (a lone surrogate becomes U+FFFD), so that an approval is found again after a reload.
    /// </summary>
    private static string AsStored(string entry) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(entry));

    private void Save()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        var document = new TrustDocument(new SortedDictionary<string, IReadOnlyDictionary<string, string?>>(
            _approved.ToDictionary(e => e.Key, e => (IReadOnlyDictionary<string, string?>)e.Value.ToDictionary(k => k.Key, k => (string?)k.Value, StringComparer.Ordinal), StringComparer.Ordinal),
            StringComparer.Ordinal));
        UserFileLock.WriteAtomically(_file, JsonSerializer.SerializeToUtf8Bytes(document, InferenceJson.Default.TrustDocument));
    }
}
