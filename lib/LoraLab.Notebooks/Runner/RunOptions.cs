namespace LoraLab.Notebooks.Runner;

/// <summary>Settings of one `lab run`: which notebooks, which parameters, where the results go, how long a cell may take.</summary>
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

    /// <summary>--timeout: the longest a cell may run, unless its own metadata says otherwise; null: no limit.</summary>
    public TimeSpan? CellTimeout { get; init; }

    /// <summary>How often the terminal hears about a cell that is still running.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// --skip-tag: code cells carrying any of these tags are not run; the report shows them as skipped, with the reason.
    /// A shard of a Slurm sweep skips its drawing cells this way (`--skip-tag figures`).
    /// </summary>
    public IReadOnlyList<string> SkipTags { get; init; } = [];

    /// <summary>--show-code: reports show every cell's code expanded (by default it is folded under a "show code" toggle).</summary>
    public bool ShowCode { get; init; }

    /// <summary>--render-only: the notebooks' processes get <see cref="NotebookWorker.RenderOnlyVariable"/> = 1, which
    /// LoraLab's sweeps read as "train nothing: draw from the store, list the missing runs".</summary>
    public bool RenderOnly { get; init; }

    /// <summary>Environment variables set for every notebook's process (and so for whatever it starts): the `lab` program
    /// names the paper profile's store this way. The runner gives them no meaning.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>--train: train the missing runs of the paper profile even on a machine without a GPU (where `lab` would
    /// otherwise render only).</summary>
    public bool Train { get; init; }

    /// <summary>The first of <see cref="SkipTags"/> that a cell carries, or null when the cell runs.</summary>
    public string? SkipTagOf(Documents.NotebookCell cell) => SkipTags.FirstOrDefault(cell.HasTag);

    /// <summary>"6 cells skipped (--skip-tag figures)", as the terminal and the index say it; null for none.</summary>
    public string? SkippedNote(int cells) =>
        cells == 0 ? null : $"{cells} {(cells == 1 ? "cell" : "cells")} skipped (--skip-tag {string.Join(", --skip-tag ", SkipTags)})";

    /// <summary>Whether the terminal output may use ANSI colours (dimmed cell output).</summary>
    public bool Color { get; init; }

    /// <summary>
    /// The program and leading arguments that start a worker process (`lab run-worker`); null: this process's own
    /// executable. Tests point it at the built lab.dll.
    /// </summary>
    public IReadOnlyList<string>? WorkerCommand { get; init; }

    /// <summary>All values to inject: the profile first, then the --param values, last one per name winning.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> InjectedValues()
    {
        var values = new List<KeyValuePair<string, string>>();
        if (Profile is not null) values.Add(KeyValuePair.Create("profile", Profile));
        values.AddRange(Parameters);
        return values.GroupBy(pair => pair.Key).Select(group => group.Last()).ToList();
    }

    /// <summary>The command-line options (not the notebooks) that reproduce these settings, for a worker process.</summary>
    public IReadOnlyList<string> ToArguments()
    {
        var args = new List<string> { "--out", OutputFolder };
        if (Profile is not null) args.AddRange(["--profile", Profile]);
        foreach (var (name, value) in Parameters) args.AddRange(["--param", $"{name}={value}"]);
        if (PlotlyScriptPath is not null) args.AddRange(["--plotly", PlotlyScriptPath]);
        foreach (var tag in SkipTags) args.AddRange(["--skip-tag", tag]);
        if (ShowCode) args.Add("--show-code");
        if (RenderOnly) args.Add("--render-only");
        if (Train) args.Add("--train");
        if (CellTimeout is { } timeout) args.AddRange(["--timeout", timeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return args;
    }
}
