namespace LoraLab.Notebooks.Engine;

/// <summary>
/// A string to be shown as HTML, not as text: what HTML("...") returns, as in dotnet-interactive. It follows the same
/// convention as any other displayable type (a public ToHtml method), so nothing treats it specially.
/// </summary>
public sealed class HtmlContent(string html)
{
    public string ToHtml() => html;
    public override string ToString() => html;
}
