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
        Assert.True(File.Exists(Path.Combine(RepositoryRoot, "docs", "errors", code + ".md")), $"docs/errors/{code}.md is missing");
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

    [GeneratedRegex(@"^SBX[1-9]\d{3}$")]
    private static partial Regex CodePattern();
}
