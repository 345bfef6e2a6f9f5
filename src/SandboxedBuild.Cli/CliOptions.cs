using System.CommandLine;
using System.CommandLine.Parsing;
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
