using System.Text;
using System.Text.RegularExpressions;

namespace SandboxedBuild.Core.Tests.MacOS;

/// <summary>
/// A reader and evaluator for the part of SBPL the generated profiles use, with the semantics the
/// generator assumes: <c>(deny default)</c>, the last matching rule decides, a rule's filters are
/// alternatives, <c>subpath</c>/<c>literal</c>/<c>regex</c> match the path string, an operation
/// ending in <c>*</c> covers every operation that starts with the rest. It checks a profile
/// against that model — containment, ordering, escaping — not against macOS itself.
/// </summary>
internal sealed class SbplModel
{
    private SbplModel(IReadOnlyList<object> forms, IReadOnlyList<SbplRule> rules)
    {
        Forms = forms;
        Rules = rules;
    }

    /// <summary>Every top-level form: <see cref="string"/> for strings, <see cref="SbplSymbol"/>, or a list of these.</summary>
    public IReadOnlyList<object> Forms { get; }

    /// <summary>The allow and deny rules, in profile order.</summary>
    public IReadOnlyList<SbplRule> Rules { get; }

    public static SbplModel Parse(string text)
    {
        var reader = new Reader(text);
        var forms = new List<object>();
        while (reader.SkipBlank())
        {
            forms.Add(reader.ReadForm());
        }

        var rules = new List<SbplRule>();
        foreach (var form in forms.OfType<IReadOnlyList<object>>())
        {
            if (form is [SbplSymbol { Name: "allow" or "deny" } head, ..])
            {
                var operations = form.Skip(1).TakeWhile(f => f is SbplSymbol).Cast<SbplSymbol>().Select(s => s.Name).ToList();
                var filters = form.Skip(1 + operations.Count).ToList();
                Assert.True(operations.Count > 0, "a rule without an operation");
                Assert.All(filters, f => Assert.IsAssignableFrom<IReadOnlyList<object>>(f));
                rules.Add(new SbplRule(head.Name == "allow", operations, [.. filters.Cast<IReadOnlyList<object>>()]));
            }
        }

        return new SbplModel(forms, rules);
    }

    /// <summary>Whether <paramref name="operation"/> on <paramref name="path"/> is allowed.</summary>
    public bool Allows(string operation, string path) => Decide(operation, filter => MatchesPath(filter, path));

    /// <summary>Whether an operation filtered by name (<c>global-name</c>, <c>sysctl-name</c>…) is allowed for <paramref name="name"/>.</summary>
    public bool AllowsNamed(string operation, string filterName, string name) =>
        Decide(operation, filter => filter switch
        {
            [SbplSymbol s, string value] when s.Name == filterName => value == name,
            [SbplSymbol s, string value] when s.Name == filterName + "-prefix" => name.StartsWith(value, StringComparison.Ordinal),
            _ => false,
        });

    /// <summary>Whether a TCP connection to <paramref name="host"/>:<paramref name="port"/> is allowed (host "localhost" or a name).</summary>
    public bool AllowsConnect(string host, int port) =>
        Decide("network-outbound", filter => filter is [SbplSymbol { Name: "remote" }, SbplSymbol { Name: "ip" or "tcp" }, string endpoint]
            && endpoint.Split(':') is [var h, var p]
            && (h == "*" || h == host)
            && (p == "*" || p == port.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Whether connecting to (<c>remote</c>) or binding (<c>local</c>) the unix socket <paramref name="path"/> is allowed.</summary>
    public bool AllowsUnixSocket(string operation, string path) =>
        Decide(operation, filter => filter is [SbplSymbol { Name: "remote" or "local" }, SbplSymbol { Name: "unix-socket" }, IReadOnlyList<object> inner]
            && MatchesPath(inner, path));

    private bool Decide(string operation, Func<IReadOnlyList<object>, bool> matches)
    {
        bool? decision = null;
        foreach (var rule in Rules)
        {
            if (rule.Operations.Any(o => Covers(o, operation)) && (rule.Filters.Count == 0 || rule.Filters.Any(matches)))
            {
                decision = rule.Allow;
            }
        }

        return decision ?? throw new InvalidOperationException("no rule decides " + operation + "; the profile lacks (deny default)");
    }

    private static bool Covers(string pattern, string operation) =>
        pattern == "default" || pattern == operation || (pattern.EndsWith('*') && operation.StartsWith(pattern[..^1], StringComparison.Ordinal));

    private static bool MatchesPath(IReadOnlyList<object> filter, string path) => filter switch
    {
        [SbplSymbol { Name: "subpath" }, string p] => p == "/" || path == p || path.StartsWith(p + "/", StringComparison.Ordinal),
        [SbplSymbol { Name: "literal" }, string p] => path == p,
        [SbplSymbol { Name: "regex" }, string r] => Regex.IsMatch(path, r, RegexOptions.CultureInvariant),
        _ => false,
    };

    private sealed class Reader(string text)
    {
        private int _pos;

        /// <summary>Skips white space and comments; false at the end.</summary>
        public bool SkipBlank()
        {
            while (_pos < text.Length)
            {
                if (text[_pos] == ';')
                {
                    while (_pos < text.Length && text[_pos] != '\n')
                    {
                        _pos++;
                    }
                }
                else if (char.IsWhiteSpace(text[_pos]))
                {
                    _pos++;
                }
                else
                {
                    return true;
                }
            }

            return false;
        }

        public object ReadForm()
        {
            var c = text[_pos];
            if (c == '(')
            {
                _pos++;
                var items = new List<object>();
                while (true)
                {
                    Assert.True(SkipBlank(), "unbalanced parenthesis");
                    if (text[_pos] == ')')
                    {
                        _pos++;
                        return items;
                    }

                    items.Add(ReadForm());
                }
            }

            Assert.True(c != ')', $"unexpected ')' at {_pos}");
            if (c == '"')
            {
                return ReadString();
            }

            var start = _pos;
            while (_pos < text.Length && !char.IsWhiteSpace(text[_pos]) && text[_pos] is not ('(' or ')' or ';' or '"' or '#'))
            {
                _pos++;
            }

            Assert.True(_pos > start, $"unexpected '{text[_pos]}' at {_pos}");
            return new SbplSymbol(text[start.._pos]);
        }

        private string ReadString()
        {
            var sb = new StringBuilder();
            _pos++;
            while (true)
            {
                Assert.True(_pos < text.Length, "unterminated string");
                var c = text[_pos++];
                Assert.False(char.IsControl(c), "a control character inside a string");
                if (c == '"')
                {
                    return sb.ToString();
                }

                if (c == '\\')
                {
                    var escaped = text[_pos++];
                    Assert.True(escaped is '"' or '\\', $"an escape other than \\\" or \\\\: \\{escaped}");
                    sb.Append(escaped);
                }
                else
                {
                    sb.Append(c);
                }
            }
        }
    }
}

internal sealed record SbplSymbol(string Name);

internal sealed record SbplRule(bool Allow, IReadOnlyList<string> Operations, IReadOnlyList<IReadOnlyList<object>> Filters);
