using System.Collections.Immutable;
using System.Text.Json;
using SandboxedBuild.Policy;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Inference;

/// <summary>What one project's MSBuild evaluation says about where it writes and what it asks for.</summary>
/// <param name="ProjectPath">The project file.</param>
/// <param name="IntermediateDirectories">obj/ directories (BaseIntermediateOutputPath, MSBuildProjectExtensionsPath, a custom IntermediateOutputPath), each with the property that named it.</param>
/// <param name="OutputDirectories">bin/ directories (BaseOutputPath, a custom OutputPath).</param>
/// <param name="ArtifactsPath">With <c>UseArtifactsOutput</c>: the artifacts root.</param>
/// <param name="RestorePackagesPath">A packages folder the project sets for itself.</param>
/// <param name="RestoreSources">Feeds the project names itself (RestoreSources, RestoreAdditionalProjectSources).</param>
/// <param name="FallbackFolders">RestoreFallbackFolders.</param>
/// <param name="IsTestProject">Whether <c>dotnet test</c> runs it.</param>
/// <param name="TestResultsDirectory">Where VSTest writes results for it.</param>
/// <param name="ProjectReferences">Referenced projects, absolute.</param>
/// <param name="AllowedHosts"><c>SandboxAllowedHost</c> items: hosts the project asks its tests and app to reach.</param>
/// <param name="NuGetLockFilePath">Where the project keeps its NuGet lock file, when it says (<c>NuGetLockFilePath</c>).</param>
/// <param name="RestorePackagesWithLockFile">The project's <c>RestorePackagesWithLockFile</c>, as written (<see langword="null"/> when not set).</param>
public sealed record ProjectEvaluation(
    string ProjectPath,
    ImmutableArray<SourcedPath> IntermediateDirectories,
    ImmutableArray<SourcedPath> OutputDirectories,
    string? ArtifactsPath,
    string? RestorePackagesPath,
    ImmutableArray<string> RestoreSources,
    ImmutableArray<string> FallbackFolders,
    bool IsTestProject,
    string? TestResultsDirectory,
    ImmutableArray<string> ProjectReferences,
    ImmutableArray<string> AllowedHosts,
    string? NuGetLockFilePath = null,
    string? RestorePackagesWithLockFile = null);

/// <summary>A path and the MSBuild property that named it.</summary>
/// <param name="Path">Absolute, normalized.</param>
/// <param name="Property">The property.</param>
public sealed record SourcedPath(string Path, string Property);

/// <summary>The MSBuild command that evaluates a project, and the reader of its JSON answer.</summary>
public static class MsBuildEvaluation
{
    /// <summary>The properties the policy is inferred from.</summary>
    public static readonly string[] Properties =
    [
        "MSBuildProjectFullPath", "BaseIntermediateOutputPath", "MSBuildProjectExtensionsPath", "IntermediateOutputPath",
        "BaseOutputPath", "OutputPath", "UseArtifactsOutput", "ArtifactsPath", "RestorePackagesPath", "RestoreSources",
        "RestoreAdditionalProjectSources", "RestoreFallbackFolders", "IsTestProject", "VSTestResultsDirectory",
        "RestorePackagesWithLockFile", "NuGetLockFilePath",
    ];

    /// <summary>The items the policy is inferred from.</summary>
    public static readonly string[] Items = ["ProjectReference", "SandboxAllowedHost"];

    /// <summary>
    /// Arguments after <c>dotnet</c> that evaluate <paramref name="project"/> without building it:
    /// the JSON answer goes to standard output, errors to standard error. (With
    /// <c>-getResultOutputFile</c> MSBuild reports evaluation errors nowhere at all.)
    /// </summary>
    public static IReadOnlyList<string> Arguments(string project) =>
        ["msbuild", project, "-nologo", "-noAutoResponse", "-getProperty:" + string.Join(',', Properties), "-getItem:" + string.Join(',', Items)];

    /// <summary>
    /// A POSIX shell script that evaluates every project given as an argument, in parallel, writing
    /// <c>$R/N.json</c>, its errors to <c>$R/N.out</c> and the exit status to <c>$R/N.rc</c> for the
    /// Nth project. The first <paramref name="propertyCount"/> arguments are MSBuild's own
    /// (<c>-property:Configuration=Release</c>), given to every evaluation; the script names them by
    /// position only, so that no value the caller typed becomes part of its text.
    /// </summary>
    public static string ShellScript(int propertyCount = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(propertyCount);
        var given = string.Concat(Enumerable.Range(1, propertyCount).Select(n => n < 10 ? $" \"${n}\"" : $" \"${{{n}}}\""));
        return
            "i=0\n" +
            "n=0\n" +
            "for p in \"$@\"; do\n" +
            $"  if [ $n -ge {propertyCount} ]; then\n" +
            "    ( dotnet " + string.Join(' ', Arguments("\"$p\"")) + given +
            " >\"$R/$i.json\" 2>\"$R/$i.out\"; echo $? > \"$R/$i.rc\" ) &\n" +
            "    i=$((i+1))\n" +
            "  fi\n" +
            "  n=$((n+1))\n" +
            "done\n" +
            "wait\n";
    }

    /// <summary>Reads the JSON that <see cref="Arguments"/> writes.</summary>
    /// <exception cref="JsonException">The text is not the expected JSON (its shape, its types or a path in it).</exception>
    public static ProjectEvaluation Parse(string project, string json)
    {
        try
        {
            return ParseAnswer(project, json);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            // The sandbox wrote it: a missing member, a member of another type, a path with NUL in it
            // (which Path.GetFullPath refuses) are all the one documented failure.
            throw new JsonException(e.Message, e);
        }
    }

    private static ProjectEvaluation ParseAnswer(string project, string json)
    {
        using var doc = JsonDocument.Parse(json);
        var props = doc.RootElement.GetProperty("Properties");
        var items = doc.RootElement.GetProperty("Items");
        var dir = Path.GetDirectoryName(project)!;
        string Get(string name) => props.TryGetProperty(name, out var v) ? v.GetString() ?? string.Empty : string.Empty;
        string? PathOf(string name) => Get(name) is { Length: > 0 } v ? Normalize(v, dir) : null;
        bool IsTrue(string name) => string.Equals(Get(name).Trim(), "true", StringComparison.OrdinalIgnoreCase);
        ImmutableArray<string> List(string name) =>
            [.. Get(name).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        IEnumerable<string> ItemSpecs(string name) =>
            items.TryGetProperty(name, out var arr) && arr.ValueKind == JsonValueKind.Array
                ? arr.EnumerateArray().Select(i => i.TryGetProperty("Identity", out var id) ? id.GetString() ?? string.Empty : string.Empty).Where(s => s.Length > 0)
                : [];

        var intermediate = new List<SourcedPath>();
        var output = new List<SourcedPath>();
        void AddDistinct(List<SourcedPath> list, string property)
        {
            if (PathOf(property) is { } p && !list.Any(e => PathUtil.IsSameOrUnder(p, e.Path)))
            {
                list.Add(new SourcedPath(p, property));
            }
        }

        AddDistinct(intermediate, "BaseIntermediateOutputPath");
        AddDistinct(intermediate, "MSBuildProjectExtensionsPath");
        AddDistinct(intermediate, "IntermediateOutputPath");
        AddDistinct(output, "BaseOutputPath");
        AddDistinct(output, "OutputPath");

        return new ProjectEvaluation(
            project,
            [.. intermediate],
            [.. output],
            IsTrue("UseArtifactsOutput") ? PathOf("ArtifactsPath") : null,
            PathOf("RestorePackagesPath"),
            [.. List("RestoreSources").Concat(List("RestoreAdditionalProjectSources")).Distinct(StringComparer.Ordinal)],
            [.. List("RestoreFallbackFolders").Select(f => Normalize(f, dir))],
            IsTrue("IsTestProject"),
            PathOf("VSTestResultsDirectory"),
            [.. ItemSpecs("ProjectReference").Select(r => Normalize(r, dir)).Distinct(StringComparer.Ordinal)],
            [.. ItemSpecs("SandboxAllowedHost").Distinct(StringComparer.OrdinalIgnoreCase)],
            PathOf("NuGetLockFilePath"),
            Get("RestorePackagesWithLockFile").Trim() is { Length: > 0 } withLockFile ? withLockFile : null);
    }

    /// <summary>The most of an evaluation's output that an error shows, in characters.</summary>
    public const int ExcerptLength = 2048;

    /// <summary>
    /// What of an evaluation's error output an error message shows, on one line: the first MSBuild
    /// error; without one (dotnet itself refused: a global.json naming an SDK that is not installed)
    /// the lines it printed, joined with " | ", so that the cause after the first line is seen. At
    /// most <see cref="ExcerptLength"/> characters, with control characters escaped: the output is
    /// the sandbox's, so never more of it, and nothing a terminal would act on.
    /// </summary>
    public static string ErrorExcerpt(string output)
    {
        var lines = output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        var line = lines.FirstOrDefault(l => l.Contains(" error ", StringComparison.Ordinal) || l.StartsWith("MSBUILD : error", StringComparison.Ordinal))
            ?? (lines.Count > 0 ? string.Join(" | ", lines.Take(ExcerptLength / 2)) : null);
        return line is null ? "MSBuild printed nothing" : TerminalText.Escape(line, ExcerptLength);
    }

    /// <summary>An MSBuild path (either slash, maybe relative, maybe with a trailing slash) as an absolute, normalized path.</summary>
    public static string Normalize(string msbuildPath, string projectDirectory) =>
        PathUtil.Normalize(msbuildPath.Trim().Replace('\\', '/'), projectDirectory);
}
