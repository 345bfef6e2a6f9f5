using System.Reflection;
using System.Text.RegularExpressions;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests;

public sealed partial class ErrorCatalogTests
{
    private static readonly string RepositoryRoot = typeof(ErrorCatalogTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

    public static TheoryData<string> Codes() => [.. Errors.Errors.All.Select(e => e.Code)];

    [Fact]
    public void A_diagnostic_renders_as_its_code_formats_and_says_its_note_after_the_message()
    {
        var code = Errors.Errors.ProtectedPathCreated;
        var plain = code.With("/w/.git/config", "git config");
        Assert.Equal(code.Format("/w/.git/config", "git config"), plain.ToString());
        var noted = plain with { Note = "could not remove it: Permission denied; delete it by hand" };
        Assert.Equal(plain.Message + " (could not remove it: Permission denied; delete it by hand)", noted.Message);
        Assert.StartsWith("warning SBX", noted.ToString(), StringComparison.Ordinal);
        Assert.Equal(noted.Message + Environment.NewLine + "  hint: " + noted.Hint, noted.ToString()[(noted.ToString().IndexOf(' ', StringComparison.Ordinal) + 1 + noted.Code.Length + 2)..]);
    }

    [Fact]
    public void Every_catalog_field_is_listed_in_All()
    {
        var fields = typeof(Errors.Errors).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(ErrorCode))
            .Select(f => (ErrorCode)f.GetValue(null)!)
            .ToList();
        Assert.Equal(fields.Select(f => f.Code).Order(), Errors.Errors.All.Select(e => e.Code).Order());
    }

    [Fact]
    public void Codes_are_unique()
    {
        var duplicates = Errors.Errors.All.GroupBy(e => e.Code).Where(g => g.Count() > 1).Select(g => g.Key);
        Assert.Empty(duplicates);
    }

    [Theory]
    [MemberData(nameof(Codes))]
    public void Code_is_well_formed_and_in_a_known_area(string code)
    {
        Assert.Matches(CodePattern(), code);
        Assert.Contains(code[3], "123456");
    }

    [Theory]
    [MemberData(nameof(Codes))]
    public void Code_has_a_message_a_hint_and_a_docs_page(string code)
    {
        var entry = Errors.Errors.All.Single(e => e.Code == code);
        Assert.False(string.IsNullOrWhiteSpace(entry.Message));
        Assert.False(string.IsNullOrWhiteSpace(entry.Hint));
        Assert.True(File.Exists(Page(code)), $"docs/errors/{code}.md is missing");
    }

    [Fact]
    public void Errors_end_with_a_reserved_exit_status()
    {
        foreach (var entry in Errors.Errors.All.Where(e => e.Severity == Severity.Error))
        {
            Assert.Contains(entry.ExitCode, new[] { ExitCodes.SandboxFailure, ExitCodes.CommandNotExecutable, ExitCodes.CommandNotFound });
        }
    }

    [Fact]
    public void Formatted_message_starts_with_its_code_and_carries_a_hint()
    {
        var text = Errors.Errors.CommandNotFound.Format("frob", "/usr/bin");
        Assert.StartsWith("SBX1003: ", text, StringComparison.Ordinal);
        Assert.Contains("hint: ", text, StringComparison.Ordinal);
        Assert.StartsWith("warning SBX3004: ", Errors.Errors.SecretPassedExplicitly.Format("X_TOKEN", "--env"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Codes))]
    public void Code_has_a_page_whose_first_line_names_it(string code)
    {
        var first = File.ReadLines(Page(code)).First();
        Assert.Matches($"^# {code}(: | )", first);
    }

    [Fact]
    public void Every_code_has_a_row_in_the_index_in_order_of_code_with_its_severity()
    {
        var rows = IndexRowPattern().Matches(File.ReadAllText(Page("README")))
            .Select(m => (Code: m.Groups["code"].Value, Severity: m.Groups["severity"].Value, Exit: m.Groups["exit"].Value))
            .ToList();
        Assert.Equal(Errors.Errors.All.Select(e => e.Code).Order(StringComparer.Ordinal), rows.Select(r => r.Code));
        foreach (var (code, severity, exit) in rows)
        {
            var entry = Errors.Errors.All.Single(e => e.Code == code);
            Assert.Equal(entry.Severity == Severity.Warning ? "warning" : "error", severity);
            if (entry.Severity == Severity.Error)
            {
                // An error's status is reserved (125, 126, 127); SBX6009 and SBX6010 say "command's, or 125".
                Assert.Matches($@"\b{entry.ExitCode}\b", exit);
            }
        }
    }

    [Fact]
    public void No_code_is_both_live_and_retired_nor_retired_twice()
    {
        Assert.Empty(Errors.Errors.Retired.Select(r => r.Code).Intersect(Errors.Errors.All.Select(e => e.Code)));
        Assert.Empty(Errors.Errors.Retired.GroupBy(r => r.Code).Where(g => g.Count() > 1).Select(g => g.Key));
    }

    [Fact]
    public void A_retired_code_keeps_a_page_that_says_it_is_retired()
    {
        foreach (var retired in Errors.Errors.Retired)
        {
            Assert.Matches(CodePattern(), retired.Code);
            Assert.False(string.IsNullOrWhiteSpace(retired.Meaning), retired.Code);
            Assert.False(string.IsNullOrWhiteSpace(retired.RetiredIn), retired.Code);
            Assert.True(File.Exists(Page(retired.Code)), $"docs/errors/{retired.Code}.md must stay");
            var text = File.ReadAllText(Page(retired.Code));
            Assert.Matches($"^# {retired.Code}(: | )", text);
            Assert.Contains("retired", text, StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>
    /// A retired code is never reused: a code leaves <c>All</c> only for <c>Retired</c>, which the test
    /// above keeps apart from <c>All</c>. Without this, a code dropped from the catalog whose page or
    /// changelog entry stays would be free for the next message, and old logs would point at it.
    /// </summary>
    [Fact]
    public void Every_code_the_docs_or_the_changelog_name_is_live_or_retired()
    {
        var known = Errors.Errors.All.Select(e => e.Code).Concat(Errors.Errors.Retired.Select(r => r.Code)).ToHashSet(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach (var file in DocumentationFiles())
        {
            var text = File.ReadAllText(file);
            var named = MentionPattern().Matches(text).SelectMany(m => Expand(m.Groups["from"].Value, m.Groups["to"].Value));
            var name = Path.GetFileNameWithoutExtension(file);
            if (CodePattern().IsMatch(name))
            {
                named = named.Append(name); // a page is named after its code
            }

            unknown.AddRange(named.Where(c => !known.Contains(c)).Distinct().Select(c => $"{Path.GetRelativePath(RepositoryRoot, file)}: {c}"));
        }

        Assert.Empty(unknown);
    }

    [Fact]
    public void Docs_pages_quote_the_catalogs_current_text()
    {
        var problems = new List<string>();
        var quoted = 0;
        // Every page that shows the tool's output: docs/ (the error pages first of all), the README and
        // the security notes. Not the changelog, which may quote what a message said then.
        foreach (var page in DocumentationFiles().Where(f => Path.GetFileName(f) != "CHANGELOG.md"))
        {
            foreach (var quote in CatalogQuote.FindAll(File.ReadAllText(page)))
            {
                quoted++;
                var entry = Errors.Errors.All.SingleOrDefault(e => e.Code == quote.Code);
                if (entry is null && Errors.Errors.Retired.Any(r => r.Code == quote.Code))
                {
                    continue; // a retired code's page may show what it used to say
                }

                var problem = entry is null ? $"line {quote.Line}: {quote.Code} is not in the catalog" : CatalogQuote.Check(entry, quote);
                if (problem is not null)
                {
                    problems.Add($"{Path.GetRelativePath(RepositoryRoot, page)}, {problem}");
                }
            }
        }

        Assert.True(quoted >= Errors.Errors.All.Count, $"only {quoted} quotes found: is the pattern still right?");
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void A_quote_matches_the_rendering_with_placeholders_and_ellipses_and_nothing_else()
    {
        var notFound = Errors.Errors.CommandNotFound;
        Assert.Null(CatalogQuote.Mismatch(notFound.Message, "command not found: 'dotent' (no such file)."));
        Assert.Null(CatalogQuote.Mismatch(notFound.Message, "command not found: 'dotent' (…)."));
        Assert.Null(CatalogQuote.Mismatch(notFound.Message, "command not found: …"));
        Assert.Null(CatalogQuote.Mismatch(notFound.Message, "command not found: '' ()."));
        Assert.NotNull(CatalogQuote.Mismatch(notFound.Message, "command not found: 'dotent' is not on the sandbox's PATH (/usr/bin).")); // the old wording
        Assert.NotNull(CatalogQuote.Mismatch(notFound.Message, "command not found: 'dotent' (no such file)")); // the full stop is text too
        Assert.NotNull(CatalogQuote.Mismatch(notFound.Message, "command not found: 'dotent' (no such file). More."));
        Assert.NotNull(CatalogQuote.Mismatch(notFound.Message, "… (no such file).")); // an ellipsis never stands for the start
        Assert.NotNull(CatalogQuote.Mismatch(notFound.Message, "Command not found: 'dotent' (no such file)."));

        // {{ and }} are braces, not placeholders; {N} may stand for braces.
        Assert.Null(CatalogQuote.Mismatch("profile {0} {{ userns, }}", "profile /usr/bin/bwrap { userns, }"));
        Assert.NotNull(CatalogQuote.Mismatch("profile {0} {{ userns, }}", "profile /usr/bin/bwrap userns,"));
        Assert.Null(CatalogQuote.Mismatch("a {0,5} b {1:x} c", "a 1 b ff c"));
    }

    [Fact]
    public void A_quote_is_found_in_console_lines_and_code_spans_with_its_severity_and_hint()
    {
        var page = string.Join('\n',
            "Prose `dotnet-sandbox: SBX1003: command not found: 'x' (no such file).` more prose.",
            "```console",
            "dotnet-sandbox: warning SBX3005: --env X: the variable is not set in this environment; nothing is passed.",
            "  hint: set it before running, or use --setenv X=VALUE.",
            "dotnet-sandbox: SBX3005: --env X: the variable is not set in this environment; nothing is passed.",
            "```",
            "  hint: outside the block",
            "warning SBX3004: passing 'X' into the sandbox because --env named it; its name looks like a secret.");
        var found = CatalogQuote.FindAll(page);
        Assert.Equal(["SBX1003", "SBX3005", "SBX3005", "SBX3004"], found.Select(f => f.Code));
        Assert.Equal("command not found: 'x' (no such file).", found[0].Message);
        Assert.Equal((true, "set it before running, or use --setenv X=VALUE.", 4), (found[1].IsWarning, found[1].Hint, found[1].HintLine));
        Assert.Equal((false, (string?)null), (found[2].IsWarning, found[2].Hint));
        Assert.True(found[3].IsWarning);

        Assert.Null(CatalogQuote.Check(Errors.Errors.CommandNotFound, found[0]));
        Assert.Null(CatalogQuote.Check(Errors.Errors.PassedVariableUnset, found[1]));
        Assert.Contains("a warning", CatalogQuote.Check(Errors.Errors.PassedVariableUnset, found[2]), StringComparison.Ordinal);
        Assert.Null(CatalogQuote.Check(Errors.Errors.SecretPassedExplicitly, found[3]));
        Assert.Contains("the hint", CatalogQuote.Check(Errors.Errors.PassedVariableUnset, found[1] with { Hint = "set it first." }), StringComparison.Ordinal);
    }

    private static string Page(string name) => Path.Combine(RepositoryRoot, "docs", "errors", name + ".md");

    /// <summary>Where codes are named: every page under docs/, the changelog, the README and the security notes.</summary>
    private static IEnumerable<string> DocumentationFiles() =>
        Directory.GetFiles(Path.Combine(RepositoryRoot, "docs"), "*.md", SearchOption.AllDirectories)
            .Concat(new[] { "CHANGELOG.md", "README.md", "SECURITY.md" }.Select(f => Path.Combine(RepositoryRoot, f)))
            .Order(StringComparer.Ordinal);

    /// <summary>A code, or every code of a range such as SBX3010–SBX3014.</summary>
    private static IEnumerable<string> Expand(string from, string to)
    {
        if (to.Length == 0)
        {
            return [from];
        }

        int first = int.Parse(from.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture), last = int.Parse(to.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(first < last && last - first < 100, $"{from}–{to} is not a range of codes");
        return Enumerable.Range(first, last - first + 1).Select(n => "SBX" + n.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^SBX[1-9]\d{3}$")]
    private static partial Regex CodePattern();

    [GeneratedRegex(@"\b(?<from>SBX\d{4})(?:\s*[–-]\s*(?<to>SBX\d{4}))?\b")]
    private static partial Regex MentionPattern();

    [GeneratedRegex(@"^\| \[(?<code>SBX\d{4})\]\(\k<code>\.md\) \| (?<severity>[a-z]+) \| (?<exit>[^|]+?) \|", RegexOptions.Multiline)]
    private static partial Regex IndexRowPattern();
}
