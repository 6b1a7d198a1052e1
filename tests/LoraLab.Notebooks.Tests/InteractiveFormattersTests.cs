using LoraLab.Display;

namespace LoraLab.Notebooks.Tests;

public class InteractiveFormattersTests
{
    [Fact]
    public void Figures_and_tables_register_as_html_with_dotnet_interactive_when_it_is_loaded()
    {
        // The stand-in below has dotnet-interactive's Formatter name and signatures, and lives in this (loaded) assembly.
        Assert.True(InteractiveFormatters.Register());

        var registered = Microsoft.DotNet.Interactive.Formatting.Formatter.Registered;
        Assert.Contains(registered, r => r.Type == typeof(Figure) && r.MimeType == "text/html");
        Assert.Contains(registered, r => r.Type == typeof(Table) && r.MimeType == "text/html");
        Assert.Contains(Microsoft.DotNet.Interactive.Formatting.Formatter.Preferred, p => p == (typeof(Figure), "text/html"));

        var figureFormatter = registered.First(r => r.Type == typeof(Figure)).Format;
        var html = new StringWriter();
        figureFormatter(new Figure().Line(new[] { 1 }, [1.0]), html);
        Assert.Contains("Plotly.newPlot", html.ToString());
    }
}
