using Xunit;
using Xunit.Abstractions;

namespace XunitVstest;

public sealed class SampleTests(ITestOutputHelper output)
{
    [Fact]
    public void Arithmetic_works()
    {
        var sum = Enumerable.Range(1, 10).Sum();
        Assert.Equal(55, sum);
    }

    [Fact]
    public void A_file_under_the_temp_path_can_be_written_and_read_back()
    {
        // Path.GetTempPath() follows TMPDIR: inside the sandbox it is the test step's private temp dir.
        var dir = Path.Combine(Path.GetTempPath(), "sbx-xunit-vstest-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var file = Path.Combine(dir, "roundtrip.txt");
            File.WriteAllText(file, "round trip");
            Assert.Equal("round trip", File.ReadAllText(file));
            output.WriteLine($"SBX-TEST temp-roundtrip OK {file}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_data_file_is_copied_to_the_output_directory()
    {
        var file = Path.Combine(AppContext.BaseDirectory, "data", "sample.txt");
        var lines = File.ReadAllLines(file);
        Assert.Equal(["SBX-DATA sample line 1", "SBX-DATA sample line 2"], lines);
        output.WriteLine($"SBX-TEST data-file OK {file}");
    }
}
