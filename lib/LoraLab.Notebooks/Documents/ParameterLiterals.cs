using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis.CSharp;

namespace LoraLab.Notebooks.Documents;

/// <summary>A --param that cannot be injected: a bad name, a type the runner cannot write, or a value of the wrong type.</summary>
public sealed class ParameterException(string message) : ArgumentException(message);

/// <summary>
/// The types a --param value can take, and the C# literal for a value of each. The rule: a value is parsed as the type
/// the parameters cell declares and written back as a literal of that type (numbers, bools, quoted strings, and arrays or
/// lists of them); any other type, or a value that does not parse, is refused. A value is never pasted in as code.
/// </summary>
public static class ParameterLiterals
{
    /// <summary>The element types a parameter may have, by their C# keyword.</summary>
    public static readonly IReadOnlyList<string> Scalars = ["int", "long", "double", "float", "decimal", "bool", "string"];

    static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["Int32"] = "int", ["Int64"] = "long", ["Double"] = "double", ["Single"] = "float", ["Decimal"] = "decimal",
        ["Boolean"] = "bool", ["String"] = "string", ["string?"] = "string",
    };

    static readonly string[] ListTypes = ["List", "IList", "IReadOnlyList", "IEnumerable", "ICollection", "IReadOnlyCollection"];

    public const string SupportedTypesText = "int, long, double, float, decimal, bool, string, and arrays (T[]) or lists (List<T>, IReadOnlyList<T>, ...) of them";

    /// <summary>A declared type the runner can write literals for: an element type, alone or in an array or a list.</summary>
    public sealed record ParameterType(string Element, bool IsArray, bool IsList)
    {
        public bool IsCollection => IsArray || IsList;
    }

    /// <summary>The type behind a declaration's type text (e.g. "double", "System.Int32", "int[]", "List&lt;string&gt;"), or null.</summary>
    public static ParameterType? Recognize(string typeText)
    {
        var text = typeText.Replace(" ", "", StringComparison.Ordinal).Replace("System.Collections.Generic.", "", StringComparison.Ordinal);
        if (text.EndsWith("[]", StringComparison.Ordinal))
            return Scalar(text[..^2]) is { } element ? new ParameterType(element, IsArray: true, IsList: false) : null;
        var open = text.IndexOf('<');
        if (open > 0 && text.EndsWith('>') && ListTypes.Contains(text[..open]))
            return Scalar(text[(open + 1)..^1]) is { } item ? new ParameterType(item, IsArray: false, IsList: true) : null;
        return Scalar(text) is { } scalar ? new ParameterType(scalar, false, false) : null;
    }

    static string? Scalar(string text)
    {
        if (text.StartsWith("System.", StringComparison.Ordinal)) text = text["System.".Length..];
        text = Aliases.GetValueOrDefault(text, text);
        return Scalars.Contains(text) ? text : null;
    }

    /// <summary>The C# expression for <paramref name="value"/> as <paramref name="type"/>; throws a ParameterException naming the parameter.</summary>
    public static string Literal(string name, string value, ParameterType type)
    {
        if (!type.IsCollection) return ScalarLiteral(name, value, type.Element);
        var items = SplitItems(name, value).Select(item => ScalarLiteral(name, item, type.Element));
        var body = string.Join(", ", items);
        return type.IsArray ? $"new {type.Element}[] {{ {body} }}" : $"new System.Collections.Generic.List<{type.Element}> {{ {body} }}";
    }

    /// <summary>The type of a value given for a name no parameters cell declares: int, long, double, bool or string.</summary>
    public static string InferScalar(string value) =>
        bool.TryParse(value, out _) ? "bool"
        : int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) ? "int"
        : long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) ? "long"
        : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number) ? "double"
        : "string";

    static string ScalarLiteral(string name, string value, string type)
    {
        var text = value.Trim();
        var invariant = CultureInfo.InvariantCulture;
        string? literal = type switch
        {
            "string" => SymbolDisplay.FormatLiteral(value, quote: true),
            "bool" => bool.TryParse(text, out var flag) ? (flag ? "true" : "false") : null,
            "int" => int.TryParse(text, NumberStyles.AllowLeadingSign, invariant, out var i) ? i.ToString(invariant) : null,
            "long" => long.TryParse(text, NumberStyles.AllowLeadingSign, invariant, out var l) ? l.ToString(invariant) + "L" : null,
            "double" => double.TryParse(text, NumberStyles.Float, invariant, out var d) && double.IsFinite(d) ? WithPoint(d.ToString("R", invariant)) : null,
            "float" => float.TryParse(text, NumberStyles.Float, invariant, out var f) && float.IsFinite(f) ? WithPoint(f.ToString("R", invariant)) + "f" : null,
            "decimal" => decimal.TryParse(text, NumberStyles.Float, invariant, out var m) ? m.ToString(invariant) + "m" : null,
            _ => throw new ParameterException($"--param {name}: the runner cannot write a {type} (supported: {SupportedTypesText})."),
        };
        return literal ?? throw new ParameterException($"--param {name}={value}: '{value}' is not {(type is "int" ? "an" : "a")} {type}, the type the parameters cell declares.");
    }

    // "1E-05" is a double literal already; "3" would be an int, which is fine for a declaration but not inside `new double[]`
    // type inference elsewhere, so numbers get a decimal point when they have neither point nor exponent.
    static string WithPoint(string number) => number.Contains('.') || number.Contains('E') ? number : number + ".0";

    /// <summary>A list value: JSON-like <c>[1, 2, 3]</c> / <c>["a", "b"]</c>, or comma-separated <c>1,2,3</c>.</summary>
    static IEnumerable<string> SplitItems(string name, string value)
    {
        var text = value.Trim();
        if (!text.StartsWith('[')) return text.Length == 0 ? [] : text.Split(',').Select(item => item.Trim());
        try
        {
            var array = JsonNode.Parse(text) as JsonArray ?? throw new JsonException("not a list");
            return array.Select(item => item switch
            {
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                JsonValue v => v.ToJsonString(),
                _ => throw new ParameterException($"--param {name}={value}: a list's items must be numbers, bools or strings."),
            }).ToList();
        }
        catch (JsonException error)
        {
            throw new ParameterException($"--param {name}={value}: not a list ({error.Message}); write [1, 2, 3] or 1,2,3.");
        }
    }
}
