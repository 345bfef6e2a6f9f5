using System.Text.Json;
using SandboxedBuild.Errors;
using SandboxedBuild.Interop;
using SandboxedBuild.Linux;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Inference;

/// <summary>
/// Whether a restore would change nothing, so that <c>build</c>, <c>test</c> and <c>run</c> can
/// skip the restore step (and its network) the way <c>dotnet</c> skips a no-op restore.
/// </summary>
/// <remarks>
/// Up to date means, for every project: NuGet's own record (<c>project.nuget.cache</c>) says the
/// last restore succeeded, every package file it expects is in the packages folder, and the record
/// is newer than every project, import and NuGet configuration file. Skipping only ever runs less
/// in the sandbox; <c>dotnet sandbox restore</c> always runs the restore.
/// </remarks>
public static class RestoreState
{
    /// <summary>Whether every project's last restore still holds; <paramref name="why"/> says why not.</summary>
    public static bool IsUpToDate(ProjectModel model, out string why)
    {
        // What the restore itself generates (obj/*.nuget.g.*) is an output here, not an input.
        var all = model.Inputs.IsDefaultOrEmpty ? [.. InferenceInputs.Collect(model.Entry, model.RepositoryRoot, model.NuGet)] : model.Inputs;
        var inputs = all.Where(f => !Path.GetFileName(f).Contains(".nuget.g.", StringComparison.Ordinal))
            .Select(f => (Path: f, Time: File.GetLastWriteTimeUtc(f)))
            .ToList();
        var newest = inputs.Count == 0 ? (Path: string.Empty, Time: DateTime.MinValue) : inputs.MaxBy(i => i.Time);
        foreach (var project in model.Projects)
        {
            var record = project.IntermediateDirectories
                .Select(d => Path.Combine(d.Path, "project.nuget.cache"))
                .FirstOrDefault(File.Exists);
            if (record is null)
            {
                why = $"{Path.GetFileName(project.ProjectPath)} was never restored";
                return false;
            }

            // The file that changed, which is often not the project named (a Directory.Packages.props, a NuGet.config).
            if (File.GetLastWriteTimeUtc(record) < newest.Time)
            {
                var changed = PathUtil.IsSameOrUnder(newest.Path, model.RepositoryRoot) ? Path.GetRelativePath(model.RepositoryRoot, newest.Path) : newest.Path;
                why = $"{TerminalText.Escape(changed, 512)} changed since the last restore of {Path.GetFileName(project.ProjectPath)}";
                return false;
            }

            if (!File.Exists(Path.Combine(Path.GetDirectoryName(record)!, "project.assets.json")))
            {
                why = $"the restore's project.assets.json of {Path.GetFileName(project.ProjectPath)} is missing";
                return false;
            }

            try
            {
                // obj/ is the sandbox's to write: a link or a FIFO there is SBX3018, not a hang or a read elsewhere.
                using var doc = JsonDocument.Parse(SafeFile.ReadAllBytes(record, SafeFile.LargeMaxBytes));
                if (!doc.RootElement.TryGetProperty("success", out var ok) || ok.ValueKind != JsonValueKind.True)
                {
                    why = $"the last restore of {Path.GetFileName(project.ProjectPath)} failed";
                    return false;
                }

                if (doc.RootElement.TryGetProperty("expectedPackageFiles", out var files)
                    && files.EnumerateArray().Select(f => f.GetString() ?? throw new InvalidOperationException("a null among the package files")).FirstOrDefault(f => !File.Exists(f)) is { } missing)
                {
                    why = $"a package of {Path.GetFileName(project.ProjectPath)} is missing ({TerminalText.Escape(missing, 512)})";
                    return false;
                }
            }
            catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                why = $"NuGet's record for {Path.GetFileName(project.ProjectPath)} is unreadable";
                return false;
            }
        }

        why = string.Empty;
        return true;
    }
}
