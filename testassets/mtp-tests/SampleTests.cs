using Xunit;

namespace MtpTests;

public sealed class SampleTests(ITestOutputHelper output)
{
    [Fact]
    public void Strings_work()
    {
        Assert.Equal("SANDBOX", "sandbox".ToUpperInvariant());
    }

    [Fact]
    public void Arithmetic_works()
    {
        Assert.Equal(55, Enumerable.Range(1, 10).Sum());
    }

    [Fact]
    public void A_file_under_the_temp_path_can_be_written_and_read_back()
    {
        // Path.GetTempPath() follows TMPDIR: inside the sandbox it is the test step's private temp dir.
        var file = Path.Combine(Path.GetTempPath(), "sbx-mtp-tests-" + Guid.NewGuid().ToString("N") + ".txt");
        try
        {
            File.WriteAllText(file, "round trip");
            Assert.Equal("round trip", File.ReadAllText(file));
            output.WriteLine($"SBX-TEST temp-roundtrip OK {file}");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
