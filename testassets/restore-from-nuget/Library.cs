namespace RestoreFromNuGet;

public static class Library
{
    public static string Serialize(object value) => Newtonsoft.Json.JsonConvert.SerializeObject(value);
}
