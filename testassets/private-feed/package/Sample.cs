namespace Sbx.PrivateSample;

public static class Sample
{
    // A property, not a const: a const would be copied into the caller at compile time, and the
    // program would then print it without ever loading this assembly from the package.
    public static string Message => "Sbx.PrivateSample 1.0.0 from the private feed";
}
