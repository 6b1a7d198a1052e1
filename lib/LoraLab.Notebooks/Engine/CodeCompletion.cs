using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraLab.Notebooks.Engine;

/// <summary>Completions: the names that may replace code[Start..End], sorted.</summary>
public sealed record CompletionResult(IReadOnlyList<string> Matches, int Start, int End);

/// <summary>
/// Completes the identifier being typed from Roslyn's semantic model of the next cell: after "x." the members of x's
/// type (and extension methods), after "Namespace." or "Type." the namespace's or type's members, otherwise every name
/// in scope (locals, earlier cells' variables, imported types) and C# keywords. Matching is by case-insensitive prefix.
/// </summary>
static class CodeCompletion
{
    static readonly string[] Keywords = SyntaxFacts.GetKeywordKinds().Select(SyntaxFacts.GetText)
        .Concat(SyntaxFacts.GetContextualKeywordKinds().Select(SyntaxFacts.GetText)).Distinct().ToArray();

    public static CompletionResult Complete(Compilation compilation, int cursor)
    {
        var tree = compilation.SyntaxTrees.Last();
        var code = tree.GetText().ToString();
        var start = cursor;
        while (start > 0 && (char.IsLetterOrDigit(code[start - 1]) || code[start - 1] == '_')) start--;
        var prefix = code[start..cursor];
        var model = compilation.GetSemanticModel(tree);

        IEnumerable<string> names = MemberAccessTarget(tree, start) is { } target
            ? MembersOf(model, target, start)
            : model.LookupSymbols(start).Where(IsNameable).Select(symbol => symbol.Name).Concat(Keywords);
        var matches = names
            .Where(name => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        return new CompletionResult(matches, start, cursor);
    }

    // "expr." or "A.B." just before the word: the expression left of the dot.
    static ExpressionSyntax? MemberAccessTarget(SyntaxTree tree, int wordStart)
    {
        if (wordStart == 0) return null;
        var token = tree.GetRoot().FindToken(wordStart - 1);
        if (!token.IsKind(SyntaxKind.DotToken)) return null;
        return token.Parent switch
        {
            MemberAccessExpressionSyntax access => access.Expression,
            QualifiedNameSyntax qualified => qualified.Left,
            _ => null,
        };
    }

    static IEnumerable<string> MembersOf(SemanticModel model, ExpressionSyntax target, int position)
    {
        var symbol = model.GetSymbolInfo(target).Symbol;
        IEnumerable<ISymbol> members = symbol switch
        {
            INamespaceOrTypeSymbol namespaceOrType => model.LookupStaticMembers(position, namespaceOrType)
                .Concat(namespaceOrType is INamespaceSymbol ns ? ns.GetMembers() : []),
            _ when model.GetTypeInfo(target).Type is { } type =>
                model.LookupSymbols(position, type, includeReducedExtensionMethods: true).Where(member => !member.IsStatic || member is IMethodSymbol { MethodKind: MethodKind.ReducedExtension }),
            _ => [],
        };
        return members.Where(IsNameable).Select(member => member.Name);
    }

    // Constructors, operators, accessors and compiler-generated members cannot be typed by name.
    static bool IsNameable(ISymbol symbol) => symbol.CanBeReferencedByName && !symbol.IsImplicitlyDeclared;
}
