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

    /// <summary><c>--tmpfs-size SIZE</c>: the size of each private tmpfs.</summary>
    public static Option<string?> TmpfsSize() => new("--tmpfs-size")
    {
        Description = "Bound each private tmpfs (the home, /tmp, /var/tmp, /dev/shm) to SIZE: bytes, or with K, M, G or T (512M, 2G). Default: the smaller of 2G and 1/16 of this machine's memory.",
        HelpName = "SIZE",
    };

    /// <summary><c>--max-processes N</c>: the process bound.</summary>
    public static Option<string?> MaxProcesses() => new("--max-processes")
    {
        Description = $"Let the sandbox hold at most N processes at once, threads included (default {Policy.ResourceBounds.DefaultMaxProcesses}); a fork or thread beyond fails. Not enforced for root callers (SBX4008).",
        HelpName = "N",
    };

    /// <summary>The bounds the command line asks for, checked (SBX1013); <see langword="null"/> for each one not given.</summary>
    public static (long? TmpfsSize, int? MaxProcesses) Bounds(ParseResult parse, Option<string?> tmpfsSize, Option<string?> maxProcesses) =>
        (parse.GetValue(tmpfsSize) is { } size ? Policy.ResourceBounds.ParseSize(size, CommandLineWording.Instance) : null,
         parse.GetValue(maxProcesses) is { } max ? Policy.ResourceBounds.ParseMaxProcesses(max, CommandLineWording.Instance) : null);

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
