using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

/// <summary>
/// A temporary directory tree with a fake home and a fake machine-wide NuGet folder, so that reading
/// never touches the real user's ~/.nuget or /etc/opt/NuGet.
/// </summary>
internal sealed class NuGetTree : IDisposable
{
    public const string Header = """<?xml version="1.0" encoding="utf-8"?>""";

    public NuGetTree()
    {
        // The chain goes up to '/': a config above the temporary directory would take part in every read.
        for (var dir = Path.GetFullPath(Path.GetTempPath()); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            foreach (var name in NuGet.Configuration.Settings.OrderedSettingsFileNames)
            {
                if (File.Exists(Path.Combine(dir, name)))
                {
                    Assert.Skip($"{Path.Combine(dir, name)} lies above the temporary directory and would take part in every read.");
                }
            }
        }

        Root = Directory.CreateTempSubdirectory("sbx-nuget-test-").FullName;
        Home = Dir("home");
        Machine = Dir("machine");
        Environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["HOME"] = Home,
            ["NUGET_COMMON_APPLICATION_DATA"] = Machine,
        };
    }

    public string Root { get; }

    public string Home { get; }

    public string Machine { get; }

    public Dictionary<string, string> Environment { get; }

    public string UserConfig => Path.Combine(Home, ".nuget", "NuGet", "NuGet.Config");

    public string Dir(string relative) => Directory.CreateDirectory(Path.Combine(Root, relative)).FullName;

    /// <summary>Writes a config file; <paramref name="body"/> goes inside <c>&lt;configuration&gt;</c>.</summary>
    public string Config(string relativePath, string body)
    {
        var path = Path.IsPathRooted(relativePath) ? relativePath : Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $"{Header}\n<configuration>\n{body}\n</configuration>\n");
        return path;
    }

    /// <summary>A user config that starts from nothing, so that only the test's sources count.</summary>
    public string EmptyUserConfig() => Config(UserConfig, "<packageSources><clear /></packageSources>");

    public NuGetSettingsSnapshot Read(string relativeDirectory = "") =>
        NuGetSettingsReader.Read(Path.Combine(Root, relativeDirectory), Environment);

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
