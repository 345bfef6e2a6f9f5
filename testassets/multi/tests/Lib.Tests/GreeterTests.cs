using Multi.Lib;
using Xunit;

namespace Multi.Lib.Tests;

public sealed class GreeterTests
{
    [Fact]
    public void Greet_names_the_caller_and_the_library()
    {
        Assert.Equal("hello, sandbox, from Multi.Lib", Greeter.Greet("sandbox"));
    }

    [Fact]
    public void Checksum_is_stable()
    {
        Assert.Equal(Greeter.Checksum("sandbox"), Greeter.Checksum("sandbox"));
        Assert.NotEqual(Greeter.Checksum("sandbox"), Greeter.Checksum("sandbax"));
    }

    [Fact]
    public void Checksum_of_empty_text_is_zero()
    {
        Assert.Equal(0, Greeter.Checksum(string.Empty));
    }
}
