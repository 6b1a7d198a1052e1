using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static LoraLab.Notebooks.Documents.ParameterLiterals;

namespace LoraLab.Notebooks.Documents;

/// <summary>
/// papermill-style parameters. A cell tagged "parameters" holds defaults such as <c>var steps = 200;</c>; the runner's
/// --param/--profile values go into a new cell tagged "injected-parameters" placed right after it (or first, if there is
/// no parameters cell). C# scripting lets a later cell redeclare a variable, so the new values win.
/// A notebook may have several parameters cells: the recipe first, then, after the cell that reads the profile, the
/// profile's sizes as knobs (<c>int max_steps = sizes.max_steps;</c>), so that no knob needs a sentinel such as 0 for
/// "the profile's". Each value is injected after the cell that declares it (the last one, if several do).
/// Each value becomes a literal of the type its parameters cell declares (see <see cref="ParameterLiterals"/>).
/// </summary>
public static class ParameterInjection
{
    public const string ParametersTag = "parameters";
    public const string InjectedTag = "injected-parameters";

    /// <summary>
    /// Adds the injected cells (replacing those of an earlier run); does nothing when there are no values. Returns
    /// warnings (papermill's: a name no parameters cell declares is injected anyway, with a warning); throws a
    /// <see cref="ParameterException"/> for a value that cannot be a literal of its declared type.
    /// </summary>
    public static IReadOnlyList<string> Inject(NotebookDocument notebook, IReadOnlyList<KeyValuePair<string, string>> values, string name = "notebook")
    {
        notebook.Cells.RemoveAll(cell => cell.HasTag(InjectedTag));
        if (values.Count == 0) return [];

        var warnings = new List<string>();
        var parametersCells = Enumerable.Range(0, notebook.Cells.Count)
            .Where(i => notebook.Cells[i].IsCode && notebook.Cells[i].HasTag(ParametersTag)).ToList();
        var declaredIn = parametersCells.Select(i => (cell: i, types: DeclaredTypes(notebook.Cells[i].Source))).ToList();
        if (parametersCells.Count == 0)
            warnings.Add($"{name}: no cell is tagged \"{ParametersTag}\"; the parameters go into a new first cell.");
        // Each value goes after the last parameters cell that declares it (a later declaration wins), typed as declared
        // there; an undeclared one after the first parameters cell, or first in the notebook when there is none.
        (int cell, string? type) Target(string key) => declaredIn.LastOrDefault(d => d.types.ContainsKey(key)) is { types: not null } d
            ? (d.cell, d.types[key]) : (parametersCells.FirstOrDefault(-1), null);
        var targets = values.Select(pair => (pair, place: Target(pair.Key))).ToList();
        var unknown = targets.Where(t => t.place.type is null && parametersCells.Count > 0).Select(t => t.pair.Key).ToList();
        if (unknown.Count > 0)
        {
            var all = declaredIn.SelectMany(d => d.types.Keys).Distinct().ToList();
            warnings.Add($"{name}: no parameters cell declares {string.Join(", ", unknown)} (they declare: " +
                $"{(all.Count == 0 ? "nothing" : string.Join(", ", all))}); injected anyway.");
        }

        // Declarations first (a bad value throws before the notebook changes), then the cells in notebook order; each
        // insertion moves the later parameters cells down by one.
        var cells = targets.GroupBy(t => t.place.cell)
            .Select(group => (after: group.Key, source: string.Join("\n", group.Select(t => Declaration(t.pair.Key, t.pair.Value, t.place.type)))))
            .OrderBy(c => c.after).ToList();
        foreach (var (after, source, inserted) in cells.Select((c, i) => (c.after, c.source, i)))
        {
            var injected = NotebookCell.NewCSharpCode("// Parameters injected by lab run\n" + source, InjectedTag);
            if (notebook.FormatMinor >= 5) injected.Json["id"] = CellIds.NewUnique(notebook, InjectedTag);
            notebook.Cells.Insert(after + inserted + 1, injected);
        }
        return warnings;
    }

    /// <summary>
    /// One C# declaration <c>type name = literal;</c>. <paramref name="declaredType"/> is the type text of the parameters
    /// cell's declaration (for <c>var</c>, the type of its literal); when null (an undeclared name) the value is typed as
    /// it reads: int, long, double, bool, else string.
    /// </summary>
    public static string Declaration(string name, string value, string? declaredType = null)
    {
        if (!SyntaxFacts.IsValidIdentifier(name)) throw new ParameterException($"--param {name}: '{name}' is not a valid C# variable name.");
        if (declaredType is null) return $"var {name} = {Literal(name, value, new ParameterType(InferScalar(value), false, false))};";
        var type = Recognize(declaredType) ?? throw new ParameterException(
            $"--param {name}: the parameters cell declares it as {declaredType}, which lab run cannot set from the command line " +
            $"(supported: {SupportedTypesText}). Declare it as one of these (e.g. a string parsed in the next cell).");
        return $"{declaredType} {name} = {Literal(name, value, type)};";
    }

    /// <summary>Whether lab run can set a variable declared with this type text from the command line.</summary>
    public static bool CanSet(string declaredType) => Recognize(declaredType) is not null;

    /// <summary>Whether a variable name can be a --param at all (a C# identifier).</summary>
    public static bool IsValidName(string name) => SyntaxFacts.IsValidIdentifier(name);

    /// <summary>The type text of each variable the parameters cell declares; for var, the type its initializer's literal has.</summary>
    public static Dictionary<string, string> DeclaredTypes(string parametersSource)
    {
        var root = CSharpSyntaxTree.ParseText(parametersSource, new CSharpParseOptions(kind: SourceCodeKind.Script)).GetRoot();
        var types = new Dictionary<string, string>();
        foreach (var declaration in root.DescendantNodes().OfType<VariableDeclarationSyntax>())
        {
            if (declaration.Parent is not (LocalDeclarationStatementSyntax or FieldDeclarationSyntax)) continue; // not a for/using variable
            foreach (var variable in declaration.Variables)
                types[variable.Identifier.Text] = declaration.Type.IsVar
                    ? InitializerType(variable.Initializer?.Value)
                    : declaration.Type.ToString();
        }
        return types;
    }

    // For `var x = ...`: the type its literal has, or a description that Recognize refuses (and the error message shows).
    static string InitializerType(ExpressionSyntax? value) => value switch
    {
        LiteralExpressionSyntax or PrefixUnaryExpressionSyntax => LiteralType(value) ?? Unsupported(value),
        ImplicitArrayCreationExpressionSyntax array => ElementType(array.Initializer.Expressions) is { } element ? element + "[]" : Unsupported(value),
        // new double[0] or new double[] { ... }: the array type without its sizes (double[0] is no type).
        ArrayCreationExpressionSyntax array => array.Type.ElementType + string.Concat(array.Type.RankSpecifiers.Select(rank => $"[{new string(',', rank.Rank - 1)}]")),
        ObjectCreationExpressionSyntax creation => creation.Type.ToString(),
        _ => Unsupported(value),
    };

    static string Unsupported(ExpressionSyntax? value) => $"the type of `{value?.ToString() ?? "(no value)"}`";

    static string? ElementType(IEnumerable<ExpressionSyntax> items)
    {
        var types = items.Select(LiteralType).Distinct().ToList();
        if (types.Count == 1) return types[0];
        // new[] { 1, 2.5 } is a double[]; any other mix is left to the compiler and refused here.
        return types.All(type => type is "int" or "long" or "double") ? "double" : null;
    }

    static string? LiteralType(ExpressionSyntax? value) => value switch
    {
        LiteralExpressionSyntax { Token.Value: string } => "string",
        LiteralExpressionSyntax { Token.Value: bool } => "bool",
        LiteralExpressionSyntax { Token.Value: int } => "int",
        LiteralExpressionSyntax { Token.Value: long } => "long",
        LiteralExpressionSyntax { Token.Value: double } => "double",
        LiteralExpressionSyntax { Token.Value: float } => "float",
        LiteralExpressionSyntax { Token.Value: decimal } => "decimal",
        PrefixUnaryExpressionSyntax { Operand: var operand } => LiteralType(operand), // -0.5
        _ => null,
    };
}
