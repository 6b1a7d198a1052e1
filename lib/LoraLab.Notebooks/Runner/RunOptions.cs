namespace LoraLab.Notebooks.Runner;

/// <summary>Settings of one `lab run`: which notebooks, which parameters, where the results go.</summary>
public sealed record RunOptions
{
    /// <summary>The profiles notebooks know; --profile X injects <c>profile = "X"</c>.</summary>
    public static readonly IReadOnlyList<string> Profiles = ["quick", "paper", "ci"];

    /// <summary>Notebook files to run; when empty, every .ipynb under <see cref="NotebooksFolder"/>, sorted.</summary>
    public IReadOnlyList<string> Notebooks { get; init; } = [];

    public string NotebooksFolder { get; init; } = "notebooks";

    public string? Profile { get; init; }

    /// <summary>--param name=value pairs, in command-line order (a later one overrides an earlier one).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; } = [];

    /// <summary>Where executed notebooks, reports and index.html go.</summary>
    public string OutputFolder { get; init; } = "reports";

    /// <summary>plotly.min.js to embed in reports; when null it is searched for (see PlotlyScript.Find).</summary>
    public string? PlotlyScriptPath { get; init; }

    /// <summary>All values to inject: the profile first, then the --param values, last one per name winning.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> InjectedValues()
    {
        var values = new List<KeyValuePair<string, string>>();
        if (Profile is not null) values.Add(KeyValuePair.Create("profile", Profile));
        values.AddRange(Parameters);
        return values.GroupBy(pair => pair.Key).Select(group => group.Last()).ToList();
    }
}
