using System.Net;
using System.Text.RegularExpressions;
using LoraLab.Notebooks.Reports;

namespace LoraLab.Notebooks.Tests;

/// <summary>Markdown in reports: raw HTML stays text, and only http, https, mailto, relative and data:image URLs stay live.</summary>
public class MarkdownSafetyTests
{
    [Theory]
    [InlineData("[x](javascript:alert(1))")]
    [InlineData("[x](JaVaScRiPt:alert(1))")]
    [InlineData("[x](javascript&#58;alert(1))")]
    [InlineData("[x](&#x6A;avascript:alert(1))")]
    [InlineData("<javascript:alert(1)>")]
    [InlineData("![i](javascript:alert(1))")]
    [InlineData("[x][ref]\n\n[ref]: javascript:alert(1)")]
    [InlineData("[x](vbscript:msgbox(1))")]
    [InlineData("[x](data:text/html,<script>alert(1)</script>)")]
    [InlineData("[x](data:image/svg+xml,%3Csvg%20onload=alert(1)%3E)")] // data:image is for images only
    public void Script_and_data_urls_are_not_live(string markdown)
    {
        var html = MarkdownRenderer.ToHtml(markdown);
        AssertNoLiveScriptUrl(html);
        Assert.True(html.Contains(MarkdownRenderer.BlockedUrl) || !html.Contains("<a "), html); // a dead link, or plain text
    }

    /// <summary>No href or src attribute holds a javascript:, vbscript: or (other than an image's data:image/) data: URL.</summary>
    public static void AssertNoLiveScriptUrl(string html)
    {
        foreach (Match attribute in Regex.Matches(html, "(href|src)\\s*=\\s*\"([^\"]*)\"", RegexOptions.IgnoreCase))
        {
            var url = WebUtility.HtmlDecode(attribute.Groups[2].Value).Trim();
            var isImage = attribute.Groups[1].Value.Equals("src", StringComparison.OrdinalIgnoreCase);
            Assert.False(Regex.IsMatch(url, "^(javascript|vbscript):", RegexOptions.IgnoreCase), attribute.Value);
            if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
                Assert.True(isImage && url.StartsWith("data:image/", StringComparison.OrdinalIgnoreCase), attribute.Value);
        }
    }

    [Fact]
    public void An_unsafe_autolink_becomes_plain_text() =>
        Assert.Equal("<p>&lt;javascript:alert(1)&gt;</p>\n", MarkdownRenderer.ToHtml("<javascript:alert(1)>"));

    [Fact]
    public void Tabs_or_newlines_inside_a_scheme_do_not_get_it_through() =>
        Assert.Equal(MarkdownRenderer.BlockedUrl, MarkdownRenderer.SafeUrl("java\tscript:alert(1)", isImage: false));

    [Theory]
    [InlineData("[x](https://arxiv.org/abs/2106.09685)", "href=\"https://arxiv.org/abs/2106.09685\"")]
    [InlineData("[x](http://example.org/a?b=c)", "href=\"http://example.org/a?b=c\"")]
    [InlineData("[x](mailto:someone@example.org)", "href=\"mailto:someone@example.org\"")]
    [InlineData("[x](../docs/notebooks.md)", "href=\"../docs/notebooks.md\"")]
    [InlineData("[x](#results)", "href=\"#results\"")]
    [InlineData("<https://example.org>", "href=\"https://example.org\"")]
    [InlineData("![i](data:image/png;base64,iVBORw0KGgo=)", "src=\"data:image/png;base64,iVBORw0KGgo=\"")]
    [InlineData("![i](figure.png)", "src=\"figure.png\"")]
    public void Ordinary_links_and_images_stay(string markdown, string expected) =>
        Assert.Contains(expected, MarkdownRenderer.ToHtml(markdown));

    [Fact]
    public void Raw_html_is_shown_as_text() =>
        Assert.Contains("&lt;script&gt;", MarkdownRenderer.ToHtml("<script>alert(1)</script>"));
}
