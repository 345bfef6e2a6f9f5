using Multi.Lib;

Console.WriteLine($"SBX-MULTI {Greeter.Greet("sandbox")} (checksum {Greeter.Checksum("sandbox")})");
