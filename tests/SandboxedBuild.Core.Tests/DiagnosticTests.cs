using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests;

/// <summary>A diagnostic keeps its code, severity and arguments, and reads as the catalog's text.</summary>
public sealed class DiagnosticTests
{
    [Fact]
    public void A_diagnostic_is_the_catalog_entry_with_its_arguments_and_reads_as_the_formatted_text()
    {
        var d = Errors.Errors.PassedVariableUnset.With("MY_SETTING");
        Assert.Equal("SBX3005", d.Code);
        Assert.Equal(Severity.Warning, d.Severity);
        Assert.Equal(["MY_SETTING"], d.Arguments);
        Assert.Equal(Errors.Errors.PassedVariableUnset.Format("MY_SETTING"), d.ToString());
        Assert.Contains("MY_SETTING", d.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SBX3005", d.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hint", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sandbox_exception_keeps_its_arguments_as_data()
    {
        var ex = new SandboxException(Errors.Errors.InvalidOptionValue, "--step", "deploy", "expected restore, build, test or run.");
        Assert.Equal("SBX1007", ex.Diagnostic.Code);
        Assert.Equal(["--step", "deploy", "expected restore, build, test or run."], ex.Diagnostic.Arguments);
        Assert.Equal(ex.Message, ex.Diagnostic.ToString());
        Assert.Equal("the same command with --help describes --step and its values.", ex.Diagnostic.Hint);
    }
}
