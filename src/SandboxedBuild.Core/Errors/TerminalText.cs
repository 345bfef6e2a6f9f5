using System.Globalization;
using System.Text;

namespace SandboxedBuild.Errors;

/// <summary>
/// Makes text that came from the sandbox (host names, request lines) safe to print on a terminal:
/// no control sequence, no bidirectional override, no line break of its own, and a bounded length.
/// </summary>
/// <remarks>
/// C0 controls, DEL and C1 controls become <c>\xNN</c>; format characters (bidi overrides and
/// isolates, zero-width characters, the byte-order mark, soft hyphens), line and paragraph
/// separators and lone surrogates become <c>\u{NNNN}</c>. Everything else is kept, backslashes
/// included, so escaping twice changes nothing.
/// </remarks>
public static class TerminalText
{
    /// <summary>The longest name a line shows; longer ones end in <c>…</c>.</summary>
    public const int MaxNameLength = 255;

    /// <summary>A name from the sandbox, escaped and cut to <see cref="MaxNameLength"/> characters.</summary>
    public static string Name(string text) => Escape(text, MaxNameLength);

    /// <summary>
    /// A whole message that may quote sandbox input, escaped but not cut (the names in it are bounded
    /// where they are put in, with <see cref="Name"/>); newlines are kept only when
    /// <paramref name="keepNewlines"/>, for messages of several lines such as a hint or the summary.
    /// </summary>
    public static string EscapeLine(string text, bool keepNewlines = false) =>
        keepNewlines
            ? string.Join('\n', text.Split('\n').Select(l => Escape(l, int.MaxValue)))
            : Escape(text, int.MaxValue);

    /// <summary>Escapes <paramref name="text"/> and cuts it to <paramref name="maxLength"/> characters of the original, then <c>…</c>.</summary>
    public static string Escape(string text, int maxLength = MaxNameLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        var cut = text.Length > maxLength;
        var source = cut ? text.AsSpan(0, maxLength) : text.AsSpan();
        if (!cut && !NeedsEscaping(source))
        {
            return text;
        }

        var sb = new StringBuilder(source.Length + 16);
        for (var i = 0; i < source.Length; i++)
        {
            var c = source[i];
            if (char.IsHighSurrogate(c) && i + 1 < source.Length && char.IsLowSurrogate(source[i + 1]))
            {
                var scalar = char.ConvertToUtf32(c, source[i + 1]);
                if (IsUnsafe(scalar))
                {
                    sb.Append(CultureInfo.InvariantCulture, $"\\u{{{scalar:X4}}}");
                }
                else
                {
                    sb.Append(c).Append(source[i + 1]);
                }

                i++;
                continue;
            }

            if (c < 0x20 || c is >= '\x7f' and <= '\x9f')
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}");
            }
            else if (char.IsSurrogate(c) || IsUnsafe(c))
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:X4}}}");
            }
            else
            {
                sb.Append(c);
            }
        }

        if (cut)
        {
            // A high surrogate at the cut was escaped as a lone one above: nothing half-printed.
            sb.Append('…');
        }

        return sb.ToString();
    }

    /// <summary>Bytes from the sandbox as text: printable ASCII as is, every other byte as <c>\xNN</c>; at most <paramref name="maxLength"/> bytes, then <c>…</c>.</summary>
    public static string EscapeBytes(ReadOnlySpan<byte> bytes, int maxLength = MaxNameLength)
    {
        var cut = bytes.Length > maxLength;
        var source = cut ? bytes[..maxLength] : bytes;
        var sb = new StringBuilder(source.Length + 16);
        foreach (var b in source)
        {
            if (b is >= 0x20 and < 0x7f)
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
            }
        }

        return cut ? sb.Append('…').ToString() : sb.ToString();
    }

    private static bool NeedsEscaping(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c < 0x20 || c >= 0x7f)
            {
                // Only ASCII is surely safe; the rest is looked at one by one.
                return true;
            }
        }

        return false;
    }

    private static bool IsUnsafe(int scalar) => CharUnicodeInfo.GetUnicodeCategory(scalar) is
        UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Control or UnicodeCategory.Surrogate;
}
