Console.WriteLine($"hello from the sandbox: {Environment.UserName} in {Environment.CurrentDirectory}");
