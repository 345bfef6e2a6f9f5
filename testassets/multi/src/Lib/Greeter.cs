namespace Multi.Lib;

public static class Greeter
{
    public static string Greet(string name) => $"hello, {name}, from Multi.Lib";

    public static int Checksum(string text)
    {
        var sum = 0;
        foreach (var c in text)
        {
            sum = unchecked((sum * 31) + c);
        }

        return sum;
    }
}
