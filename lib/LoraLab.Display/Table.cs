using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace LoraLab.Display;

/// <summary>
/// A table of rows and named columns that displays as an HTML table (<see cref="ToHtml"/>) or aligned text
/// (<see cref="ToString"/>). Only the first <see cref="MaxRows"/> rows are shown, followed by "... N more rows".
/// </summary>
public sealed class Table
{
    public const int DefaultMaxRows = 50;

    public Table(IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<object?>> rows, int maxRows = DefaultMaxRows)
    {
        Columns = columns;
        Rows = rows.ToList();
        MaxRows = maxRows;
    }

    public IReadOnlyList<string> Columns { get; }
    public IReadOnlyList<IReadOnlyList<object?>> Rows { get; }
    public int MaxRows { get; }

    /// <summary>Rows left out of the display because of <see cref="MaxRows"/>.</summary>
    public int HiddenRowCount => Math.Max(0, Rows.Count - MaxRows);

    /// <summary>
    /// A table from records, anonymous objects or any objects with public properties (one column per property), or from
    /// dictionaries (one column per key). Scalars (numbers, strings) become a single "value" column.
    /// </summary>
    public static Table From(IEnumerable rows, int maxRows = DefaultMaxRows)
    {
        var items = rows.Cast<object?>().ToList();
        if (items.Count > 0 && items.All(item => item is IDictionary))
            return FromDictionaries(items.Cast<IDictionary>().ToList(), maxRows);

        var rowType = ElementType(rows) ?? items.FirstOrDefault(item => item is not null)?.GetType();
        if (rowType is null || IsScalar(rowType))
            return new Table(["value"], items.Select(item => (IReadOnlyList<object?>)[item]), maxRows);

        var properties = ColumnsOf(rowType);
        return new Table(properties.Select(p => p.Name).ToList(),
            items.Select(item => (IReadOnlyList<object?>)properties.Select(p => item is null ? null : p.GetValue(item)).ToList()), maxRows);
    }

    /// <summary>True for sequences this class can show as a table with columns: objects with public properties, or dictionaries.</summary>
    public static bool CanTabulate(object value)
    {
        if (value is string or IDictionary || value is not IEnumerable sequence) return false;
        var rowType = ElementType(sequence);
        if (rowType is null || rowType == typeof(object))
            rowType = sequence.Cast<object?>().Take(1).FirstOrDefault()?.GetType();
        return rowType is not null && !IsScalar(rowType) && (typeof(IDictionary).IsAssignableFrom(rowType) || ColumnsOf(rowType).Count > 0);
    }

    public string ToHtml()
    {
        var html = new StringBuilder("<table class=\"loralab-table\"><thead><tr>");
        foreach (var column in Columns) html.Append("<th>").Append(Figure.Escape(column)).Append("</th>");
        html.Append("</tr></thead><tbody>");
        foreach (var row in Rows.Take(MaxRows))
        {
            html.Append("<tr>");
            foreach (var cell in row) html.Append("<td>").Append(Figure.Escape(FormatCell(cell))).Append("</td>");
            html.Append("</tr>");
        }
        html.Append("</tbody></table>");
        if (HiddenRowCount > 0) html.Append("<p class=\"loralab-table-more\">").Append(MoreRowsText).Append("</p>");
        return html.ToString();
    }

    /// <summary>The table as aligned plain text.</summary>
    public override string ToString()
    {
        var shown = Rows.Take(MaxRows).Select(row => row.Select(FormatCell).ToList()).ToList();
        var widths = Columns.Select((column, i) => shown.Select(row => i < row.Count ? row[i].Length : 0).Prepend(column.Length).Max()).ToList();
        var text = new StringBuilder();
        void WriteRow(IReadOnlyList<string> cells) =>
            text.AppendLine(string.Join("  ", cells.Select((cell, i) => cell.PadRight(i < widths.Count ? widths[i] : 0))).TrimEnd());
        WriteRow(Columns);
        WriteRow(widths.Select(width => new string('-', width)).ToList());
        foreach (var row in shown) WriteRow(row);
        if (HiddenRowCount > 0) text.AppendLine(MoreRowsText);
        return text.ToString();
    }

    string MoreRowsText => $"... {HiddenRowCount} more row{(HiddenRowCount == 1 ? "" : "s")}";

    static Table FromDictionaries(List<IDictionary> rows, int maxRows)
    {
        var columns = rows.SelectMany(row => row.Keys.Cast<object>().Select(key => key.ToString() ?? "")).Distinct().ToList();
        return new Table(columns,
            rows.Select(row => (IReadOnlyList<object?>)columns.Select(column => row.Contains(column) ? row[column] : null).ToList()), maxRows);
    }

    static string FormatCell(object? value) => value switch
    {
        null => "",
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    static List<PropertyInfo> ColumnsOf(Type rowType) =>
        rowType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            // Records have a compiler-generated EqualityContract property; indexers have parameters. Neither is a column.
            .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
            .ToList();

    static Type? ElementType(IEnumerable sequence) =>
        sequence.GetType().GetInterfaces().Append(sequence.GetType())
            .Where(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            .Select(t => t.GetGenericArguments()[0])
            .FirstOrDefault();

    static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(DateTime) ||
        type == typeof(DateTimeOffset) || type == typeof(TimeSpan) || type == typeof(Guid) || Nullable.GetUnderlyingType(type) is not null;
}
