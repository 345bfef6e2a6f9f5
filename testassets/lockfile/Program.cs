Console.WriteLine("SBX-LOCKFILE hello from a project with a lock file");
