using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Core.Tests;

/// <summary>
/// The libraries' namespaces stand in layers, and no code names anything of a layer above its own:
/// bound by the C# compiler over the sources, so a use through a <c>using</c>, a qualified name,
/// an extension method or a type inferred by <c>var</c> counts alike.
/// </summary>
public sealed class LayeringTests
{
    private static readonly string RepositoryRoot = typeof(LayeringTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>From the bottom up: a namespace may use its own layer and those below it.</summary>
    private static readonly string[][] Layers =
    [
        ["SandboxedBuild.Errors"],       // codes, messages, exceptions, safe text for a terminal
        ["SandboxedBuild.Interop"],      // the libc surface and the primitives made straight from it
        ["SandboxedBuild.Network"],      // host rules, the egress proxy, the bridge protocol
        ["SandboxedBuild.Policy"],       // the policy model and the exec policy
        ["SandboxedBuild.Linux", "SandboxedBuild.MacOS"], // backends: render and run a policy
        ["SandboxedBuild"],              // the runner: policy + backend + proxy for one command
        ["SandboxedBuild.Diagnostics"],  // doctor
        ["SandboxedBuild.Inference"],    // its own assembly: projects, NuGet, steps, the workflow
    ];

    [Fact]
    public void No_namespace_of_the_libraries_uses_one_of_a_layer_above_it()
    {
        var (compilation, trees) = Compile("src/SandboxedBuild.Core", "src/SandboxedBuild.Inference");
        var layer = Layers.SelectMany((names, i) => names.Select(n => (n, i))).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var upward = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<(string, string)>();
        foreach (var tree in trees)
        {
            var model = compilation.GetSemanticModel(tree);
            var root = tree.GetCompilationUnitRoot(TestContext.Current.CancellationToken);
            var from = root.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>().Single().Name.ToString();
            Assert.True(layer.ContainsKey(from), $"{Relative(tree)}: namespace {from} is in no layer");
            foreach (var node in root.DescendantNodes().Where(n => n is SimpleNameSyntax or ObjectCreationExpressionSyntax or ImplicitObjectCreationExpressionSyntax))
            {
                if (UsedNamespace(model, node) is not { } to || to == from)
                {
                    continue;
                }

                seen.Add((from, to));
                if (!layer.TryGetValue(to, out var target) || target > layer[from])
                {
                    var line = node.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                    upward.Add($"{Relative(tree)}:{line}: {from} uses {node} of {to}");
                }
            }
        }

        Assert.True(upward.Count == 0, "uses of a layer above:\n" + string.Join('\n', upward));

        // The test sees what it must: the edges every layer is known to have.
        Assert.Contains(("SandboxedBuild.Linux", "SandboxedBuild.Policy"), seen);
        Assert.Contains(("SandboxedBuild.Network", "SandboxedBuild.Interop"), seen);
        Assert.Contains(("SandboxedBuild.Inference", "SandboxedBuild"), seen);
    }

    [Fact]
    public void The_sandbox_library_references_no_NuGet_and_no_MSBuild()
    {
        var core = typeof(SandboxRunner).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(core, n => n.StartsWith("NuGet.", StringComparison.Ordinal) || n.StartsWith("Microsoft.Build", StringComparison.Ordinal) || n.StartsWith("System.CommandLine", StringComparison.Ordinal));
        Assert.Contains(typeof(Inference.Workflow).Assembly.GetReferencedAssemblies(), a => a.Name == "NuGet.Configuration");
    }

    /// <summary>The SandboxedBuild namespace of what <paramref name="node"/> names: a type, or the type of a member.</summary>
    private static string? UsedNamespace(SemanticModel model, SyntaxNode node)
    {
        var symbol = model.GetSymbolInfo(node, TestContext.Current.CancellationToken).Symbol;
        var type = symbol switch
        {
            INamedTypeSymbol t => t,
            IMethodSymbol { ReducedFrom: { } m } => m.ContainingType,
            { ContainingType: { } t } => t,
            _ => null,
        };
        while (type?.ContainingType is { } outer)
        {
            type = outer;
        }

        var ns = type?.ContainingNamespace?.ToDisplayString();
        return ns is not null && (ns == "SandboxedBuild" || ns.StartsWith("SandboxedBuild.", StringComparison.Ordinal)) ? ns : null;
    }

    private static (CSharpCompilation, ImmutableArray<SyntaxTree>) Compile(params string[] directories)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var globals = CSharpSyntaxTree.ParseText(
            "global using System; global using System.IO; global using System.Collections.Generic; global using System.Linq; global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;",
            options);
        var trees = directories
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(RepositoryRoot, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), options, path: f))
            .ToImmutableArray();
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create(
            "Layering",
            [globals, .. trees],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

        // Every name must bind for the check to be whole: the .NET SDK's own source generators
        // (JSON, GeneratedRegex, LibraryImport) write their parts, as in the build, so no error is
        // left out.
        var driver = CSharpGeneratorDriver.Create(SdkGenerators(), parseOptions: options);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var generated, out _, TestContext.Current.CancellationToken);
        compilation = (CSharpCompilation)generated;
        var errors = compilation.GetDiagnostics(TestContext.Current.CancellationToken)
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => d.ToString())
            .ToList();
        Assert.True(errors.Count == 0, "the sources did not bind:\n" + string.Join('\n', errors.Take(20)));
        return (compilation, trees);
    }

    /// <summary>The source generators of the reference pack that matches this runtime (next to it, under the dotnet root's packs/).</summary>
    private static List<ISourceGenerator> SdkGenerators()
    {
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var root = Path.GetFullPath(Path.Combine(runtime, "..", "..", ".."));
        var packs = Path.Combine(root, "packs", "Microsoft.NETCore.App.Ref");
        var version = Path.GetFileName(runtime);
        var pack = Directory.Exists(Path.Combine(packs, version))
            ? Path.Combine(packs, version)
            : Directory.EnumerateDirectories(packs, Environment.Version.Major + ".*").OrderBy(d => Version.Parse(Path.GetFileName(d).Split('-')[0])).Last();
        var analyzers = Path.Combine(pack, "analyzers", "dotnet", "cs");
        var generators = Directory.EnumerateFiles(analyzers, "*.dll")
            .SelectMany(f => new Microsoft.CodeAnalysis.Diagnostics.AnalyzerFileReference(f, Loader.Instance).GetGenerators(LanguageNames.CSharp))
            .ToList();
        Assert.True(generators.Count > 0, "no source generators in " + analyzers);
        return generators;
    }

    /// <summary>Loads the generators' assemblies into the default context.</summary>
    private sealed class Loader : Microsoft.CodeAnalysis.IAnalyzerAssemblyLoader
    {
        public static Loader Instance { get; } = new();

        public void AddDependencyLocation(string fullPath)
        {
        }

        public System.Reflection.Assembly LoadFromPath(string fullPath) => System.Reflection.Assembly.LoadFrom(fullPath);
    }

    private static string Relative(SyntaxTree tree) => Path.GetRelativePath(RepositoryRoot, tree.FilePath);
}
