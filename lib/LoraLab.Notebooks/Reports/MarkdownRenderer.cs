using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace LoraLab.Notebooks.Reports;

/// <summary>
/// Markdown cells to HTML with Markdig (tables, task lists, auto-links and the other common extensions).
/// Raw HTML inside markdown is written out as text, and every link and image URL goes through <see cref="SafeUrl"/>,
/// so a notebook's markdown cannot put a script into a report (no &lt;script&gt;, no javascript: link).
/// </summary>
public static class MarkdownRenderer
{
    static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseAdvancedExtensions().DisableHtml().Build();

    /// <summary>Where an unsafe URL pointed: nowhere.</summary>
    public const string BlockedUrl = "#unsafe-url-removed";

    public static string ToHtml(string markdown)
    {
        var document = Markdown.Parse(markdown, Pipeline);
        foreach (var link in document.Descendants<LinkInline>()) link.Url = SafeUrl(link.Url, link.IsImage);
        // An autolink shows its URL as its text: an unsafe one becomes plain text (escaped), not a link.
        foreach (var link in document.Descendants<AutolinkInline>().ToList())
            if (SafeUrl(link.Url, isImage: false) == BlockedUrl) link.ReplaceBy(new LiteralInline($"<{link.Url}>"));
        return document.ToHtml(Pipeline);
    }

    /// <summary>
    /// The URL when its scheme is http, https or mailto, when it has none (relative, #anchor), or for an image when it
    /// is a data:image/ URL; otherwise <see cref="BlockedUrl"/>. Browsers skip control characters and spaces inside a
    /// scheme ("java\tscript:"), so they are removed before looking.
    /// </summary>
    public static string SafeUrl(string? url, bool isImage)
    {
        if (string.IsNullOrEmpty(url)) return url ?? "";
        var compact = new string(url.Where(c => c > ' ').ToArray());
        var colon = compact.IndexOf(':');
        var firstDelimiter = compact.IndexOfAny(['/', '?', '#']);
        if (colon < 0 || (firstDelimiter >= 0 && firstDelimiter < colon)) return url; // no scheme: a relative URL
        var scheme = compact[..colon].ToLowerInvariant();
        if (scheme is "http" or "https" or "mailto") return url;
        if (isImage && scheme == "data" && compact.StartsWith("data:image/", StringComparison.OrdinalIgnoreCase)) return url;
        return BlockedUrl;
    }
}
