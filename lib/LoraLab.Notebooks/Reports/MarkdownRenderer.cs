using Markdig;

namespace LoraLab.Notebooks.Reports;

/// <summary>
/// Markdown cells to HTML with Markdig (tables, task lists, auto-links and the other common extensions).
/// Raw HTML inside markdown is written out as text, so a notebook's markdown cannot inject scripts into a report.
/// </summary>
public static class MarkdownRenderer
{
    static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseAdvancedExtensions().DisableHtml().Build();

    public static string ToHtml(string markdown) => Markdown.ToHtml(markdown, Pipeline);
}
