using SandboxedBuild.Errors;
using SandboxedBuild.Network;

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

    [Fact]
    public void A_setting_the_catalog_names_is_said_in_the_words_of_the_host_that_renders_it()
    {
        var d = Errors.Errors.CommandHidden.With("frob", "/opt/tools/frob", "/opt/tools");

        Assert.Equal("make its directory visible with --allow-read /opt/tools", d.FormatHint(TestWordings.Option.Setting));
        Assert.Equal("make its directory visible with SandboxReadablePath /opt/tools", d.FormatHint(TestWordings.Item.Setting));
        Assert.Equal("make its directory visible with the setting 'allow-read' /opt/tools", d.Hint);
        Assert.Equal(d.ToString(TestWordings.Option.Setting), TestWordings.Option.Text(d));
        Assert.Equal(d.ToString(), RemedyWording.Neutral.Text(d));

        // In the message as well; a host's word with braces is text, not a format.
        var unset = Errors.Errors.PassedVariableUnset.With("X");
        Assert.StartsWith("--env X: the variable is not set", unset.FormatMessage(TestWordings.Option.Setting), StringComparison.Ordinal);
        Assert.Equal("set it before running, or use {setenv} X=VALUE.", unset.FormatHint(s => "{" + s + "}"));
        Assert.DoesNotContain("{setting:", string.Concat(Errors.Errors.All.Select(e => e.With([.. Enumerable.Repeat<object?>("a", 8)]).ToString(TestWordings.Option.Setting))), StringComparison.Ordinal);
    }
}
