using Xunit;

namespace Sbx.Exfiltrate;

/// <summary>The work a sandbox must keep allowing, next to the attempts it must block.</summary>
public sealed class LegitimateTests
{
    [Fact]
    public void Computation_works()
    {
        var primes = Enumerable.Range(2, 48).Where(n => Enumerable.Range(2, n - 2).All(d => n % d != 0)).ToArray();
        Assert.Equal(15, primes.Length);
        Assert.Equal(47, primes[^1]);
    }

    [Fact]
    public void A_file_under_the_temp_path_can_be_written_and_read_back()
    {
        var file = Path.Combine(Path.GetTempPath(), "sbx-exfiltrate-legit-" + Guid.NewGuid().ToString("N") + ".txt");
        try
        {
            File.WriteAllText(file, "legitimate");
            Assert.Equal("legitimate", File.ReadAllText(file));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
