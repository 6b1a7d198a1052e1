using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;

namespace LoraLab.Notebooks.Engine;

/// <summary>
/// Turns a displayed value into a MIME bundle ("text/plain", and "text/html" when the value has an HTML form).
/// The engine knows no display library; it finds HTML forms by convention:
/// <list type="number">
/// <item>a value with a public instance <c>string ToHtml()</c> method renders as that HTML;</item>
/// <item>otherwise any loaded assembly can offer formatters for other types (e.g. sequences of records as tables): it
/// declares <c>[assembly: AssemblyMetadata("NotebookDisplayFormatter", "Full.TypeName")]</c>, and that type has
/// <c>public static string? ToHtml(object)</c> and optionally <c>public static string? ToText(object)</c>, returning null
/// for values it does not handle;</item>
/// <item>everything else is text: ToString(), or the items of a sequence.</item>
/// </list>
/// </summary>
public static class ValueFormatter
{
    public const string PlainText = "text/plain";
    public const string Html = "text/html";
    const string FormatterMetadataKey = "NotebookDisplayFormatter";
    const int ListLimit = 20;

    // Assemblies already looked at, with the formatter they declare (or null). Assemblies load as cells run (#r).
    static readonly ConcurrentDictionary<Assembly, ConventionFormatter?> formattersByAssembly = new();

    public static IReadOnlyDictionary<string, string> Format(object? value)
    {
        if (value is null) return new Dictionary<string, string> { [PlainText] = "<null>" };
        if (value is string text) return new Dictionary<string, string> { [PlainText] = text };

        var toHtml = value.GetType().GetMethod("ToHtml", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
        if (toHtml?.ReturnType == typeof(string) && toHtml.Invoke(value, null) is string ownHtml)
            return new Dictionary<string, string> { [PlainText] = PlainTextOf(value), [Html] = ownHtml };

        foreach (var formatter in ConventionFormatters())
        {
            if (formatter.ToHtml(value) is { } html)
                return new Dictionary<string, string> { [PlainText] = formatter.ToText(value) ?? PlainTextOf(value), [Html] = html };
        }
        return new Dictionary<string, string> { [PlainText] = PlainTextOf(value) };
    }

    /// <summary>ToString(), except that sequences whose ToString is just their type name list their items.</summary>
    static string PlainTextOf(object value)
    {
        var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
        if (value is not IEnumerable sequence || text != value.GetType().ToString()) return text;
        var items = sequence.Cast<object?>().Take(ListLimit + 1).Select(item => item?.ToString() ?? "<null>").ToList();
        var more = items.Count > ListLimit ? ", ..." : "";
        return "[" + string.Join(", ", items.Take(ListLimit)) + more + "]";
    }

    static IEnumerable<ConventionFormatter> ConventionFormatters()
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (formattersByAssembly.GetOrAdd(assembly, ConventionFormatter.Declared) is { } formatter)
                yield return formatter;
        }
    }

    sealed record ConventionFormatter(MethodInfo ToHtmlMethod, MethodInfo? ToTextMethod)
    {
        public string? ToHtml(object value) => ToHtmlMethod.Invoke(null, [value]) as string;
        public string? ToText(object value) => ToTextMethod?.Invoke(null, [value]) as string;

        public static ConventionFormatter? Declared(Assembly assembly)
        {
            try
            {
                var typeName = assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                    .FirstOrDefault(attribute => attribute.Key == FormatterMetadataKey)?.Value;
                var type = typeName is null ? null : assembly.GetType(typeName, throwOnError: false);
                var toHtml = StaticFormatMethod(type, "ToHtml");
                return toHtml is null ? null : new ConventionFormatter(toHtml, StaticFormatMethod(type, "ToText"));
            }
            catch (Exception exception) when (exception is FileNotFoundException or TypeLoadException or NotSupportedException)
            {
                return null; // an assembly whose attributes cannot be read offers no formatter
            }
        }

        static MethodInfo? StaticFormatMethod(Type? type, string name) =>
            type?.GetMethod(name, BindingFlags.Public | BindingFlags.Static, [typeof(object)]) is { ReturnType: var returns } method && returns == typeof(string)
                ? method : null;
    }
}
