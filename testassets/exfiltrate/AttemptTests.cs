using System.Reflection;
using Xunit;
using Xunit.Abstractions;

namespace Sbx.Exfiltrate;

public sealed class AttemptTests(ITestOutputHelper output)
{
    [Fact]
    public void Escape_attempts_report_their_outcome_and_never_fail()
    {
        var projectDirectory = typeof(AttemptTests).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "SbxProjectDirectory").Value!;
        var options = AttemptOptions.FromEnvironment("test", projectDirectory);

        // ITestOutputHelper for the test logger; Console too, for runners that show the test host's stdout.
        Attempts.RunAll(options, line =>
        {
            output.WriteLine(line);
            Console.WriteLine(line);
        });
    }
}
