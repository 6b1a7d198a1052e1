using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraLab.Notebooks.Engine;

/// <summary>
/// What Jupyter's inspect (Shift+Tab) shows: the signature of the symbol under the cursor (every overload of a method
/// group) and its doc comment summary. Summaries come from the symbol's own doc comment (a cell's ///), else from the
/// XML documentation file next to its assembly, else from the .NET reference pack for framework types.
/// </summary>
static partial class SymbolInspection
{
    static readonly ConcurrentDictionary<string, XDocument?> documentationFiles = new();

    public static string? Describe(Compilation compilation, int cursor)
    {
        var tree = compilation.SyntaxTrees.Last();
        var model = compilation.GetSemanticModel(tree);
        var symbols = SymbolsAt(model, tree, cursor);
        if (symbols.Count == 0) return null;

        var lines = symbols.Select(symbol => symbol.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat)).Distinct().ToList();
        if (Summary(compilation, symbols[0]) is { Length: > 0 } summary) lines.AddRange(["", summary]);
        return string.Join("\n", lines);
    }

    // The identifier at or just before the cursor; inside an argument list, the method being called.
    static IReadOnlyList<ISymbol> SymbolsAt(SemanticModel model, SyntaxTree tree, int cursor)
    {
        var root = tree.GetRoot();
        var token = root.FindToken(Math.Max(0, cursor - 1));
        if (!token.IsKind(SyntaxKind.IdentifierToken) && cursor < root.FullSpan.End && root.FindToken(cursor) is var next && next.IsKind(SyntaxKind.IdentifierToken))
            token = next;
        for (var node = token.Parent; node is not null; node = node.Parent)
        {
            var target = node is InvocationExpressionSyntax invocation ? invocation.Expression : node;
            if (target is not (ExpressionSyntax or TypeSyntax or VariableDeclaratorSyntax or BaseTypeDeclarationSyntax or MethodDeclarationSyntax or LocalFunctionStatementSyntax))
                continue;
            var info = model.GetSymbolInfo(target);
            if (info.Symbol is { } symbol) return [symbol];
            if (!info.CandidateSymbols.IsEmpty) return info.CandidateSymbols;
            if (model.GetDeclaredSymbol(target) is { } declared) return [declared];
            if (node is StatementSyntax) break; // do not describe the whole enclosing statement's parts
        }
        return [];
    }

    static string? Summary(Compilation compilation, ISymbol symbol)
    {
        var xml = symbol.GetDocumentationCommentXml();
        if (string.IsNullOrWhiteSpace(xml) && symbol.GetDocumentationCommentId() is { } id)
            xml = DocumentationFilesFor(compilation, symbol.ContainingAssembly)
                .Select(file => file?.Root?.Element("members")?.Elements("member").FirstOrDefault(m => (string?)m.Attribute("name") == id)?.ToString())
                .FirstOrDefault(found => found is not null);
        if (string.IsNullOrWhiteSpace(xml)) return null;
        try
        {
            var summary = XElement.Parse(xml).Element("summary");
            return summary is null ? null : Whitespace().Replace(TextOf(summary), " ").Trim();
        }
        catch (System.Xml.XmlException)
        {
            return null; // a malformed doc comment: show the signature alone
        }
    }

    // <see cref="T:System.Math"/> reads as "Math"; other markup reads as its text.
    static string TextOf(XElement element) => string.Concat(element.Nodes().Select(node => node switch
    {
        XText text => text.Value,
        XElement { Name.LocalName: "see" or "seealso" } see => ((string?)see.Attribute("cref") ?? (string?)see.Attribute("langword") ?? see.Value).Split('.', ':').Last(),
        XElement { Name.LocalName: "paramref" or "typeparamref" } reference => (string?)reference.Attribute("name") ?? "",
        XElement other => TextOf(other),
        _ => "",
    }));

    static IEnumerable<XDocument?> DocumentationFilesFor(Compilation compilation, IAssemblySymbol? assembly)
    {
        if (assembly is null) yield break;
        if (compilation.GetMetadataReference(assembly) is PortableExecutableReference { FilePath: { } path })
            yield return Load(Path.ChangeExtension(path, ".xml"));
        // Framework types live in System.Private.CoreLib and friends; their docs ship in the reference pack, by the name
        // of the reference assembly that exposes them (System.Runtime for most of CoreLib).
        var name = assembly.Name == "System.Private.CoreLib" ? "System.Runtime" : assembly.Name;
        foreach (var directory in ReferencePackDirectories.Value)
            yield return Load(Path.Combine(directory, name + ".xml"));
    }

    static XDocument? Load(string path) => documentationFiles.GetOrAdd(path, file =>
    {
        try { return File.Exists(file) ? XDocument.Load(file) : null; }
        catch (Exception error) when (error is IOException or System.Xml.XmlException or UnauthorizedAccessException) { return null; }
    });

    // <dotnet>/shared/Microsoft.NETCore.App/<version>/ -> <dotnet>/packs/Microsoft.NETCore.App.Ref/<version>/ref/net<major>.<minor>/
    static readonly Lazy<string[]> ReferencePackDirectories = new(() =>
    {
        var runtime = new DirectoryInfo(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        var packs = Path.Combine(runtime.Parent?.Parent?.Parent?.FullName ?? "", "packs", "Microsoft.NETCore.App.Ref");
        if (!Directory.Exists(packs)) return [];
        var framework = $"net{Environment.Version.Major}.{Environment.Version.Minor}";
        return Directory.EnumerateDirectories(packs).OrderByDescending(d => d, StringComparer.Ordinal)
            .Select(version => Path.Combine(version, "ref", framework)).Where(Directory.Exists).Take(1).ToArray();
    });

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
