// The integration tests drive bubblewrap: they are Linux-only by nature.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
