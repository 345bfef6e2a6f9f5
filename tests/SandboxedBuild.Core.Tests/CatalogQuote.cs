using System.Text.RegularExpressions;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests;

/// <summary>
/// Whether the docs quote a catalog entry's current text. The rule, precisely:
/// <list type="bullet">
/// <item>A quote is what follows <c>dotnet-sandbox: SBXNNNN: </c>, <c>dotnet-sandbox: warning SBXNNNN: </c>
/// or <c>warning SBXNNNN: </c> up to the end of the line or a backtick (an inline code span), without
/// trailing white space. <c>warning</c> is there exactly when the entry is a warning.</item>
/// <item>The quote must equal the entry's text with each placeholder (<c>{0}</c>, <c>{1,5}</c>,
/// <c>{2:x}</c>) replaced by some text, possibly empty (<c>{{</c> and <c>}}</c> are the braces
/// themselves); and where the quote has <c>…</c> or <c>...</c>, any text of that rendering may be left
/// out. Everything else matches character for character, from the first to the last.</item>
/// <item>A quote does not start with an ellipsis: it shows at least how the message begins.</item>
/// <item>The first <c>  hint: </c> line after a quote, before the next quote or the end of the code
/// block, is held to the entry's hint by the same rule.</item>
/// </list>
/// </summary>
internal static partial class CatalogQuote
{
    /// <summary>A wildcard in a token sequence: any text, possibly empty.</summary>
    private const int Any = -1;

    /// <summary>One quote found in a page.</summary>
    /// <param name="Line">1-based line number.</param>
    /// <param name="Code">The code it names.</param>
    /// <param name="IsWarning">Whether it says <c>warning</c>.</param>
    /// <param name="Message">The quoted message.</param>
    /// <param name="Hint">The quoted hint, if the example shows one.</param>
    /// <param name="HintLine">The hint's 1-based line number, or 0.</param>
    public sealed record Found(int Line, string Code, bool IsWarning, string Message, string? Hint, int HintLine);

    /// <summary>Every quote of a catalog message in a Markdown page.</summary>
    public static IReadOnlyList<Found> FindAll(string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var found = new List<Found>();
        for (var i = 0; i < lines.Length; i++)
        {
            foreach (Match m in QuotePattern().Matches(lines[i]))
            {
                var (hint, hintLine) = HintAfter(lines, i);
                found.Add(new Found(i + 1, m.Groups["code"].Value, m.Groups["warning"].Success, m.Groups["text"].Value.TrimEnd(), hint, hintLine));
            }
        }

        return found;
    }

    /// <summary>What is wrong with a quote of <paramref name="entry"/>, or <see langword="null"/> if it quotes the current text.</summary>
    public static string? Check(ErrorCode entry, Found quote)
    {
        if (quote.IsWarning != (entry.Severity == Severity.Warning))
        {
            return $"line {quote.Line}: {entry.Code} is {(entry.Severity == Severity.Warning ? "a warning: write 'warning " : "an error: do not write 'warning ")}{entry.Code}:'";
        }

        if (Mismatch(entry.Message, quote.Message) is { } message)
        {
            return $"line {quote.Line}: the message of {entry.Code} {message}";
        }

        if (quote.Hint is not null && Mismatch(entry.Hint, quote.Hint) is { } hint)
        {
            return $"line {quote.HintLine}: the hint of {entry.Code} {hint}";
        }

        return null;
    }

    /// <summary>Why <paramref name="quote"/> does not quote <paramref name="template"/>, or <see langword="null"/> if it does.</summary>
    public static string? Mismatch(string template, string quote)
    {
        if (quote.StartsWith('…') || quote.StartsWith("...", StringComparison.Ordinal))
        {
            return $"is quoted from an ellipsis on: '{quote}'";
        }

        return Matches(Template(template), Quote(quote)) ? null : $"is now '{template}', the page says '{quote}'";
    }

    /// <summary>A composite format string as characters and wildcards.</summary>
    private static int[] Template(string format)
    {
        var tokens = new List<int>();
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if ((c == '{' || c == '}') && i + 1 < format.Length && format[i + 1] == c)
            {
                tokens.Add(c);
                i++;
            }
            else if (c == '{')
            {
                var end = format.IndexOf('}', i);
                Assert.True(end > i && PlaceholderPattern().IsMatch(format[(i + 1)..end]), $"not a placeholder at {i} of '{format}'");
                AddAny(tokens);
                i = end;
            }
            else
            {
                tokens.Add(c);
            }
        }

        return [.. tokens];
    }

    /// <summary>A quote as characters and wildcards (its ellipses).</summary>
    private static int[] Quote(string quote)
    {
        var tokens = new List<int>();
        for (var i = 0; i < quote.Length; i++)
        {
            if (quote[i] == '…')
            {
                AddAny(tokens);
            }
            else if (string.CompareOrdinal(quote, i, "...", 0, 3) == 0)
            {
                AddAny(tokens);
                i += 2;
            }
            else
            {
                tokens.Add(quote[i]);
            }
        }

        return [.. tokens];
    }

    private static void AddAny(List<int> tokens)
    {
        if (tokens.Count == 0 || tokens[^1] != Any)
        {
            tokens.Add(Any);
        }
    }

    /// <summary>
    /// Whether some text is described by both sequences: a wildcard of either side takes any run of
    /// the other's characters (and wildcards), a character matches only the same character.
    /// </summary>
    private static bool Matches(int[] a, int[] b)
    {
        // reach[i, j]: the first i tokens of a and the first j of b can describe the same text.
        var reach = new bool[a.Length + 1, b.Length + 1];
        reach[0, 0] = true;
        for (var i = 0; i <= a.Length; i++)
        {
            for (var j = 0; j <= b.Length; j++)
            {
                if (!reach[i, j])
                {
                    continue;
                }

                if (i < a.Length && a[i] == Any)
                {
                    reach[i + 1, j] = true; // a's wildcard ends here
                    if (j < b.Length)
                    {
                        reach[i, j + 1] = true; // ... or takes b's next token
                    }
                }

                if (j < b.Length && b[j] == Any)
                {
                    reach[i, j + 1] = true;
                    if (i < a.Length)
                    {
                        reach[i + 1, j] = true;
                    }
                }

                if (i < a.Length && j < b.Length && a[i] != Any && a[i] == b[j])
                {
                    reach[i + 1, j + 1] = true;
                }
            }
        }

        return reach[a.Length, b.Length];
    }

    private static (string? Hint, int Line) HintAfter(string[] lines, int quoteLine)
    {
        for (var i = quoteLine + 1; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("```", StringComparison.Ordinal) || QuotePattern().IsMatch(lines[i]))
            {
                break;
            }

            if (lines[i].StartsWith("  hint: ", StringComparison.Ordinal))
            {
                return (lines[i]["  hint: ".Length..].TrimEnd(), i + 1);
            }
        }

        return (null, 0);
    }

    [GeneratedRegex(@"(?:dotnet-sandbox: (?<warning>warning )?|(?<warning>warning ))(?<code>SBX\d{4}): (?<text>[^`\n]*)")]
    private static partial Regex QuotePattern();

    [GeneratedRegex(@"^(\d+(,-?\d+)?(:[^{}]*)?|setting:[a-z][a-z-]*)$")]
    private static partial Regex PlaceholderPattern();
}
