using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.CompilerServices;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Cli;

/// <summary>Options and argument handling the commands share.</summary>
internal static class CliOptions
{
    /// <summary>An option that may be given many times, one value each time.</summary>
    public static Option<string[]> Repeatable(string name, string helpName, string description) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>
    /// The coded refusals of <see cref="Checked"/> options, by the part of the command line they
    /// refused: <see cref="CliApp"/> reports a parse error that has one with its own code and hint
    /// instead of as SBX1001.
    /// </summary>
    private static readonly ConditionalWeakTable<SymbolResult, SandboxException> Refusals = [];

    /// <summary>
    /// An option whose value <paramref name="parse"/> turns into a <typeparamref name="T"/> while the
    /// command line is parsed (so before anything runs), refusing a bad one with the coded error
    /// <paramref name="parse"/> throws.
    /// </summary>
    public static Option<T> Checked<T>(string name, string helpName, string description, Func<string, T> parse) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            try
            {
                return parse(result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty);
            }
            catch (SandboxException ex)
            {
                // The error is reported on the option's result (the argument's parent), not the argument's own.
                Refusals.AddOrUpdate(result, ex);
                if (result.Parent is { } option)
                {
                    Refusals.AddOrUpdate(option, ex);
                }

                result.AddError(ex.Message);
                return default!;
            }
        },
    };

    /// <summary>Refuses <paramref name="result"/> with <paramref name="refusal"/>, reported with its own code (for validators of options that are not <see cref="Checked"/>).</summary>
    public static void Refuse(SymbolResult result, SandboxException refusal)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(refusal);
        Refusals.AddOrUpdate(result, refusal);
        result.AddError(refusal.Message);
    }

    /// <summary>The coded refusal behind a parse error, if a <see cref="Checked"/> option made it.</summary>
    public static SandboxException? RefusalOf(ParseError error) =>
        error.SymbolResult is { } part && Refusals.TryGetValue(part, out var refusal) ? refusal : null;

    /// <summary>An option taking one of <paramref name="values"/> (SBX1007 for anything else), <paramref name="defaultValue"/> when not given.</summary>
    public static Option<string> OneOf(string name, string description, string defaultValue, params string[] values)
    {
        // Any case, as the step names always were; the value is the canonical one.
        var option = Checked(name, string.Join('|', values), description, value => values.FirstOrDefault(v => string.Equals(v, value, StringComparison.OrdinalIgnoreCase))
            ?? throw new SandboxException(Errors.Errors.InvalidOptionValue, name, value, $"expected {string.Join(", ", values[..^1])} or {values[^1]}."));
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary><c>--tmpfs-size SIZE</c>: the size of each private tmpfs (SBX1013 for a malformed size).</summary>
    public static Option<long?> TmpfsSize() => Checked<long?>(
        "--tmpfs-size",
        "SIZE",
        "Bound each private tmpfs (the home, /tmp, /var/tmp, /dev/shm) to SIZE: bytes, or with K, M, G or T (512M, 2G). Default: the smaller of 2G and 1/16 of this machine's memory.",
        size => Policy.ResourceBounds.ParseSize(size, CommandLineWording.Instance));

    /// <summary><c>--max-processes N</c>: the process bound (SBX1013 for a malformed one).</summary>
    public static Option<int?> MaxProcesses() => Checked<int?>(
        "--max-processes",
        "N",
        $"Let the sandbox hold at most N processes at once, threads included (default {Policy.ResourceBounds.DefaultMaxProcesses}); a fork or thread beyond fails. Not enforced for root callers (SBX4008).",
        max => Policy.ResourceBounds.ParseMaxProcesses(max, CommandLineWording.Instance));

    /// <summary>The <c>[PROJECT] [-- ARGS]</c> argument of the project commands.</summary>
    public static Argument<string[]> ProjectArgument(string passThrough) => new("PROJECT")
    {
        Description = "A project or solution file, or a directory holding one (default: the current directory). " + passThrough,
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>Splits the words into the project (before '--', at most one) and the arguments after '--'.</summary>
    public static (string? Project, IReadOnlyList<string> PassThrough) SplitProjectArguments(ParseResult parse, string verb)
    {
        RejectUnknownOptions(parse, verb, "put arguments for dotnet after '--'.");
        var tokens = parse.Tokens.ToList();
        var doubleDash = tokens.FindIndex(t => t.Type == TokenType.DoubleDash);
        var before = tokens.Take(doubleDash < 0 ? tokens.Count : doubleDash).Where(t => t.Type == TokenType.Argument && !IsOptionValue(parse, t)).Select(t => t.Value).ToList();
        if (before.Count > 1)
        {
            throw new SandboxException(Errors.Errors.InvalidUsage, $"more than one project named ({string.Join(", ", before)}); put arguments for dotnet after '--'.", verb);
        }

        var after = doubleDash < 0 ? [] : tokens.Skip(doubleDash + 1).Select(t => t.Value).ToList();
        return (before.FirstOrDefault(), after);
    }

    /// <summary>Before '--', a word starting with '-' is an option this command does not know.</summary>
    public static void RejectUnknownOptions(ParseResult parse, string verb, string hint)
    {
        var tokens = parse.Tokens.ToList();
        var doubleDash = tokens.FindIndex(t => t.Type == TokenType.DoubleDash);
        if (tokens.Take(doubleDash < 0 ? tokens.Count : doubleDash).FirstOrDefault(t => t.Type == TokenType.Argument && t.Value.Length > 1 && t.Value[0] == '-' && !IsOptionValue(parse, t)) is { } unknown)
        {
            throw new SandboxException(Errors.Errors.InvalidUsage, $"unknown option '{unknown.Value}'; {hint}", verb);
        }
    }

    private static bool IsOptionValue(ParseResult parse, Token token) =>
        parse.CommandResult.Children.OfType<OptionResult>().Any(o => o.Tokens.Contains(token));
}
