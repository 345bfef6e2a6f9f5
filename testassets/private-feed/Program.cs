Console.WriteLine($"SBX-PRIVATE-FEED {Sbx.PrivateSample.Sample.Message}");
