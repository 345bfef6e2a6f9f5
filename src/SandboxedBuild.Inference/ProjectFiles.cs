using System.Xml;
using System.Xml.Linq;
using Microsoft.VisualStudio.SolutionPersistence.Model;
using Microsoft.VisualStudio.SolutionPersistence.Serializer;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Policy;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Inference;

/// <summary>Finds the project or solution a step works on, and the projects a solution lists.</summary>
public static class ProjectFiles
{
    private static readonly string[] ProjectExtensions = [".csproj", ".fsproj", ".vbproj"];
    private static readonly string[] SolutionExtensions = [".sln", ".slnx"];

    /// <summary>Whether the file is a solution.</summary>
    public static bool IsSolution(string path) => SolutionExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The project or solution named by <paramref name="argument"/> (a file or a directory), or the
    /// only one in <paramref name="workingDirectory"/>, as <c>dotnet</c> itself picks it.
    /// </summary>
    /// <param name="argument">What the user typed, or <see langword="null"/>.</param>
    /// <param name="workingDirectory">The caller's directory.</param>
    /// <param name="verb">The step, for the hint of an error.</param>
    /// <exception cref="SandboxException">SBX1010, SBX1011 or SBX1012.</exception>
    public static string Locate(string? argument, string workingDirectory, string verb)
    {
        var path = PathUtil.Normalize(argument ?? ".", workingDirectory);
        if (File.Exists(path))
        {
            var ext = Path.GetExtension(path);
            return ProjectExtensions.Concat(SolutionExtensions).Contains(ext, StringComparer.OrdinalIgnoreCase)
                ? path
                : throw new SandboxException(Errors.Errors.ProjectFileInvalid, path, "unknown extension '" + ext + "'");
        }

        if (!Directory.Exists(path))
        {
            throw new SandboxException(Errors.Errors.ProjectFileInvalid, path, "no such file or directory");
        }

        // Like dotnet: a solution wins over projects only when it is the only solution; otherwise one file of either kind.
        var files = Directory.EnumerateFiles(path).Order(StringComparer.Ordinal).ToList();
        var solutions = files.Where(IsSolution).ToList();
        var projects = files.Where(f => ProjectExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase)).ToList();
        var candidates = solutions.Count > 0 ? solutions : projects;
        return candidates.Count switch
        {
            1 => candidates[0],
            0 => throw new SandboxException(Errors.Errors.NoProjectFound, path, verb),
            _ => throw new SandboxException(Errors.Errors.ManyProjectsFound, path, string.Join(", ", candidates.Select(Path.GetFileName)), verb, Path.GetRelativePath(workingDirectory, candidates[0])),
        };
    }

    /// <summary>The projects a <c>.sln</c> or <c>.slnx</c> file lists, as absolute paths that exist.</summary>
    /// <remarks>
    /// The solution is read by the .NET SDK's own solution parser (Microsoft.VisualStudio.SolutionPersistence,
    /// what <c>dotnet sln</c> uses, and MSBuild for a <c>.slnx</c>), not by a pattern of ours. The file lies in a tree a
    /// sandbox may write: it is read once, through <see cref="SafeFile"/>, and the parser gets those
    /// bytes, never the path; a <c>.slnx</c> is checked first as plain XML (no DTD, no entities),
    /// since the parser's own XML reader would accept a DTD.
    /// </remarks>
    /// <exception cref="SandboxException">SBX3018 for a link, FIFO, device or a file too large; SBX3019 for a <c>.slnx</c> that is not plain XML; SBX3028 for a file the parser refuses.</exception>
    public static IReadOnlyList<string> ProjectsOfSolution(string solution)
    {
        var dir = Path.GetDirectoryName(solution)!;
        var bytes = SafeFile.ReadAllBytes(solution, SafeFile.DefaultMaxBytes);
        var xml = string.Equals(Path.GetExtension(solution), ".slnx", StringComparison.OrdinalIgnoreCase);
        if (xml)
        {
            _ = ParseXml(solution, bytes);
        }

        SolutionModel model;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            var reading = xml
                ? SolutionSerializers.SlnXml.OpenAsync(stream, CancellationToken.None)
                : SolutionSerializers.SlnFileV12.OpenAsync(stream, CancellationToken.None);
            model = reading.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or XmlException or InvalidOperationException)
        {
            // SolutionException (a FormatException) knows the line; the other kinds are the parser's
            // own refusals of what it read (a project listed twice, say), which it does not place.
            var line = ex is SolutionException { Line: > 0 and var at } ? at : 1;
            throw new SandboxException(Errors.Errors.SolutionInvalid, TerminalText.Escape(solution, 4096), line, TerminalText.Escape(FirstSentence(ex.Message), 300));
        }

        // The file is the repository's: a path with NUL in it names no file (and Path.GetFullPath refuses it).
        return [.. model.SolutionProjects
            .Select(p => p.FilePath)
            .Where(r => !r.Contains('\0', StringComparison.Ordinal))
            .Select(r => PathUtil.Normalize(r.Replace('\\', '/'), dir))
            .Where(p => ProjectExtensions.Contains(Path.GetExtension(p), StringComparer.OrdinalIgnoreCase) && File.Exists(p))
            .Distinct(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Parses an XML file the tool reads itself (a <c>.slnx</c>), which lies in a tree a sandbox may
    /// write: through <see cref="SafeFile"/> (a regular file, at most 4 MiB), with no DTD, no
    /// entities and no resolver, so nothing in it expands or fetches.
    /// </summary>
    /// <exception cref="SandboxException">SBX3019 with the line and position of the problem; SBX3018 for a link, FIFO, device or a file too large.</exception>
    public static XDocument LoadXml(string path) => ParseXml(path, SafeFile.ReadAllBytes(path, SafeFile.DefaultMaxBytes));

    /// <summary>Parses <paramref name="bytes"/>, read from <paramref name="path"/>, as <see cref="LoadXml"/> does.</summary>
    /// <exception cref="SandboxException">SBX3019 with the line and position of the problem.</exception>
    private static XDocument ParseXml(string path, byte[] bytes)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = SafeFile.DefaultMaxBytes,
            MaxCharactersFromEntities = 0,
            IgnoreProcessingInstructions = true,
        };
        using var stream = new MemoryStream(bytes, writable: false);
        using var reader = XmlReader.Create(stream, settings);
        try
        {
            return XDocument.Load(reader, LoadOptions.None);
        }
        catch (XmlException ex)
        {
            // A refused DTD carries no position: point at the declaration.
            var (line, position) = ex.LineNumber > 0 ? (ex.LineNumber, ex.LinePosition) : PositionOf(System.Text.Encoding.UTF8.GetString(bytes), "<!DOCTYPE");
            throw new SandboxException(Errors.Errors.XmlFileInvalid, TerminalText.Escape(path, 4096), line, position, TerminalText.Escape(FirstSentence(ex.Message), 300));
        }
    }

    private static (int Line, int Position) PositionOf(string text, string what)
    {
        var at = text.IndexOf(what, StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            return (1, 1);
        }

        var line = 1 + text.AsSpan(0, at).Count('\n');
        return (line, at - (text.LastIndexOf('\n', Math.Max(at - 1, 0)) + 1) + 1);
    }

    // XmlException messages go on with the position and advice on enabling DTDs; the error says the position itself.
    private static string FirstSentence(string message) =>
        message.IndexOf(". ", StringComparison.Ordinal) is var at and > 0 ? message[..(at + 1)] : message;

    /// <summary>
    /// The directory whose tree the steps see: the enclosing git repository's root, or the project's
    /// own directory when it is not in a repository. A <c>.git</c> directory without a HEAD (another
    /// run's placeholder, say) marks no repository.
    /// </summary>
    public static string RepositoryRoot(string entry)
    {
        var start = Path.GetDirectoryName(entry)!;
        for (var dir = start; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (GitRepository.IsTop(HostFileSystem.Instance, dir))
            {
                return dir;
            }
        }

        return start;
    }
}
