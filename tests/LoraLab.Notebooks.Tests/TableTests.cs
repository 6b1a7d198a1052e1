using LoraLab.Display;

namespace LoraLab.Notebooks.Tests;

public class TableTests
{
    record Run(string Name, double Loss, int Rank);

    [Fact]
    public void Large_tables_show_the_first_rows_and_count_the_rest()
    {
        var rows = Enumerable.Range(0, 170).Select(i => new Run($"run{i}", 1.0 / (i + 1), i % 8)).ToList();
        var table = Table.From(rows, maxRows: 50);

        var html = table.ToHtml();
        Assert.Equal(50 + 1, html.Split("<tr>").Length - 1); // 50 rows plus the header row
        Assert.Contains("... 120 more rows", html);
        Assert.Contains("... 120 more rows", table.ToString());
        Assert.DoesNotContain("run50", html);
    }

    [Fact]
    public void Record_properties_become_columns_without_the_equality_contract()
    {
        var table = Table.From(new[] { new Run("a", 0.5, 4) });
        Assert.Equal(["Name", "Loss", "Rank"], table.Columns);
    }

    [Fact]
    public void Anonymous_objects_and_dictionaries_tabulate()
    {
        Assert.Equal(["Step", "Loss"], Table.From(new[] { new { Step = 1, Loss = 0.3 } }).Columns);
        var fromDictionaries = Table.From(new[] { new Dictionary<string, object?> { ["a"] = 1, ["b"] = "x" } });
        Assert.Equal(["a", "b"], fromDictionaries.Columns);
    }

    [Fact]
    public void Text_form_aligns_columns_under_a_header()
    {
        var text = Table.From(new[] { new Run("short", 0.5, 4), new Run("a longer name", 0.25, 16) }).ToString();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.StartsWith("Name", lines[0]);
        Assert.StartsWith("----", lines[1]);
        Assert.Equal(lines[2].IndexOf("0.5", StringComparison.Ordinal), lines[3].IndexOf("0.25", StringComparison.Ordinal));
    }

    [Fact]
    public void Cell_text_is_html_escaped()
    {
        var html = Table.From(new[] { new Run("<script>x</script>", 1, 1) }).ToHtml();
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;", html);
    }

    [Fact]
    public void Only_sequences_of_objects_with_properties_count_as_tables()
    {
        Assert.True(Table.CanTabulate(new[] { new { A = 1 } }.ToList()));
        Assert.False(Table.CanTabulate(new[] { 1, 2, 3 }));
        Assert.False(Table.CanTabulate("text"));
        Assert.NotNull(NotebookDisplay.ToHtml(new[] { new Run("a", 1, 1) }));
        Assert.Null(NotebookDisplay.ToHtml(42));
    }
}
