using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraLab.Notebooks.Documents;

/// <summary>
/// papermill-style parameters. The cell tagged "parameters" holds defaults such as <c>var steps = 200;</c>; the runner's
/// --param/--profile values go into a new cell tagged "injected-parameters" placed right after it (or first, if there is
/// no parameters cell). C# scripting lets a later cell redeclare a variable, so the new values win.
/// </summary>
public static class ParameterInjection
{
    public const string ParametersTag = "parameters";
    public const string InjectedTag = "injected-parameters";

    /// <summary>Adds the injected cell (replacing one from an earlier run); does nothing when there are no values.</summary>
    public static void Inject(NotebookDocument notebook, IReadOnlyList<KeyValuePair<string, string>> values)
    {
        notebook.Cells.RemoveAll(cell => cell.HasTag(InjectedTag));
        if (values.Count == 0) return;

        var parametersCell = notebook.Cells.FindIndex(cell => cell.IsCode && cell.HasTag(ParametersTag));
        var declaredTypes = parametersCell < 0 ? [] : DeclaredTypes(notebook.Cells[parametersCell].Source);
        var source = string.Join("\n", values.Select(pair =>
            Declaration(pair.Key, pair.Value, declaredTypes.GetValueOrDefault(pair.Key))));

        var injected = NotebookCell.NewCSharpCode("// Parameters injected by lab run\n" + source, InjectedTag);
        // nbformat 4.5 and later require every cell to have an id.
        if (notebook.FormatMinor >= 5) injected.Json["id"] = "injected-parameters";
        notebook.Cells.Insert(parametersCell + 1, injected);
    }

    /// <summary>
    /// One C# declaration. The type is the one the parameters cell declares (inferred from its literal when it says var),
    /// so that e.g. lr=1 stays a double; unknown names are typed from the value: a number stays a number, true/false a
    /// bool, anything else a string.
    /// </summary>
    public static string Declaration(string name, string value, string? declaredType = null)
    {
        if (!SyntaxFacts.IsValidIdentifier(name)) throw new ArgumentException($"'{name}' is not a valid C# variable name.");
        var type = declaredType ?? InferType(value);
        var literal = type switch
        {
            "string" => Quote(value),
            "bool" when bool.TryParse(value, out var flag) => flag ? "true" : "false",
            "int" or "long" or "double" or "float" or "decimal" when IsNumber(value) => value + (type switch { "float" => "f", "decimal" => "m", _ => "" }),
            "int" or "long" or "double" or "float" or "decimal" or "bool" =>
                throw new ArgumentException($"Parameter {name} is a {type} in the parameters cell; '{value}' is not one."),
            // A type we cannot write literals for (an enum, a record): the value must be a C# expression.
            _ => value,
        };
        return $"{(declaredType is null ? "var" : type)} {name} = {literal};";
    }

    static string InferType(string value) =>
        value is "true" or "false" ? "bool"
        : long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole) ? (whole is >= int.MinValue and <= int.MaxValue ? "int" : "long")
        : IsNumber(value) ? "double"
        : "string";

    static bool IsNumber(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) && !value.Contains("Infinity") && !value.Contains("NaN");

    static string Quote(string value) => SymbolDisplay.FormatLiteral(value, quote: true);

    /// <summary>The type of each variable the parameters cell declares; for var, the type of its literal (if it has one).</summary>
    static Dictionary<string, string> DeclaredTypes(string parametersSource)
    {
        var root = CSharpSyntaxTree.ParseText(parametersSource, new CSharpParseOptions(kind: SourceCodeKind.Script)).GetRoot();
        var types = new Dictionary<string, string>();
        foreach (var declaration in root.DescendantNodes().OfType<VariableDeclarationSyntax>())
        {
            foreach (var variable in declaration.Variables)
            {
                var type = declaration.Type.IsVar ? LiteralType(variable.Initializer?.Value) : declaration.Type.ToString();
                if (type is not null) types[variable.Identifier.Text] = type;
            }
        }
        return types;
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
