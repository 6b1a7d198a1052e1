using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LoraLab.Data.Results;

namespace LoraLab.Cli;

/// <summary>
/// `lab findings REPORTS [--store DB] [--out FILE]`: the "what we found" tables of the notebooks that one `lab run`
/// executed (REPORTS/NN-*.ipynb), with each notebook's profile, date, wall time, resolved knobs and where its runs came from (the
/// results store: how many, on which devices, from which commits, when), as one Markdown page. Docs quote measured
/// findings from such a page, never typed by hand.
/// </summary>
public static partial class FindingsCommand
{
    public const string Usage = """
        usage: lab findings REPORTS [--store DB] [--out FILE]
        Collects the "what we found" table of every notebook executed in the folder REPORTS (a `lab run --out`
        folder: NN-name.ipynb) into one Markdown page: per notebook its profile, when it ran, its wall time, the verdicts
        counted, what its `resolved` cell showed (the knobs and sizes it ran with), the runs it read from the store DB
        (default: LORALAB_RESULTS_DB, else data/results.db; for the paper profile data/results/paper.db) by experiment
        (count, devices, commits, dates), then its table as it showed it.
        Writes FILE (default: standard output).
        exit codes: 0 ok, 1 a notebook cannot be read or has no findings table, 2 bad arguments
        """;

    /// <summary>One notebook's table and what it ran on.</summary>
    /// <param name="Resolved">what its cell `resolved` showed: the knobs the run used (seeds, sizes), so that an
    /// inconclusive verdict's projected n reads against the n this run had; "" when the notebook has no such cell</param>
    public sealed record NotebookFindings(string Name, string Profile, string Status, string ExecutedAt, double Seconds,
                                          IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows, string Resolved = "")
    {
        public int Count(string verdict) => Rows.Count(row => VerdictOf(row).StartsWith(verdict, StringComparison.Ordinal));
        public string VerdictOf(IReadOnlyList<string> row) => row[Columns.ToList().IndexOf("verdict")];
    }

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        string folder, store;
        string? outFile;
        try
        {
            var options = CommandArguments.Parse(args, flags: [], valued: ["store", "out"]);
            if (options.Help)
            {
                output.WriteLine(Usage);
                return CommandExitCodes.Ok;
            }
            if (options.Positional.Count != 1)
                throw new ArgumentException(options.Positional.Count == 0 ? "name the REPORTS folder" : $"one REPORTS folder, got {options.Positional.Count} words");
            folder = options.Positional[0];
            if (!Directory.Exists(folder)) throw new ArgumentException($"there is no folder '{folder}'");
            store = options.Value("store") ?? ResultsStore.DefaultPath();
            if (!File.Exists(store)) throw new ArgumentException($"there is no results database '{store}' (--store)");
            outFile = options.Value("out");
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"lab findings: {e.Message}");
            error.WriteLine(Usage);
            return CommandExitCodes.BadArguments;
        }
        try
        {
            var notebooks = Read(folder);
            using var results = new ResultsStore(store);
            string page = Markdown(notebooks, results, folder);
            if (outFile is null) output.Write(page);
            else
            {
                File.WriteAllText(outFile, page);
                output.WriteLine($"{outFile}: {notebooks.Count} notebooks, {notebooks.Sum(n => n.Rows.Count)} claims");
            }
            return CommandExitCodes.Ok;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or System.Text.Json.JsonException or Microsoft.Data.Sqlite.SqliteException)
        {
            error.WriteLine($"lab findings: {e.Message}");
            return CommandExitCodes.Failed;
        }
    }

    /// <summary>The findings of every executed notebook NN-*.ipynb or NNx-*.ipynb (01b) of a folder, in name order; a notebook without a
    /// findings table (a column "verdict") is an error, unless it has no sweeps at all (00-tour: no claims).</summary>
    public static IReadOnlyList<NotebookFindings> Read(string folder)
    {
        var found = new List<NotebookFindings>();
        foreach (string path in Directory.GetFiles(folder, "*.ipynb").Where(p => NotebookName().IsMatch(Path.GetFileName(p))).Order(StringComparer.Ordinal))
        {
            var notebook = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new InvalidDataException($"{path} is empty");
            var run = notebook["metadata"]?["loralab"];
            if (run is null) throw new InvalidDataException($"{path} was not executed by lab run (no metadata.loralab)");
            var table = notebook["cells"]!.AsArray().Select(cell => cell!["outputs"]?.AsArray()).Where(outputs => outputs is not null)
                .SelectMany(outputs => outputs!).Select(o => o?["data"]?["text/html"]).Where(html => html is not null)
                .Select(html => ParseTable(Joined(html!))).LastOrDefault(t => t is not null && t.Value.columns.Contains("verdict"));
            string name = Path.GetFileNameWithoutExtension(path);
            if (table is null)
            {
                if (name.StartsWith("00-", StringComparison.Ordinal)) continue;     // the tour tests no claim
                throw new InvalidDataException($"{path} shows no findings table (a table with a verdict column): did its last cells run?");
            }
            string profile = ((string?)run["parameters"]?["profile"] ?? DefaultProfile(notebook) ?? "?") + ((bool?)run["render_only"] == true ? " (render-only)" : "");
            found.Add(new NotebookFindings(name, profile, (string?)run["status"] ?? "?",
                                           (string?)run["executed_at"] ?? "", (double?)run["elapsed_seconds"] ?? double.NaN, table.Value.columns, table.Value.rows,
                                           ResolvedKnobs(notebook)));
        }
        if (found.Count == 0) throw new InvalidDataException($"no executed notebook with findings in {folder} (NN-name.ipynb from lab run --out)");
        return found;
    }

    /// <summary>The page: a summary table over notebooks, then per notebook its runs and its findings.</summary>
    public static string Markdown(IReadOnlyList<NotebookFindings> notebooks, ResultsStore store, string folder)
    {
        var page = new StringBuilder();
        var profiles = notebooks.Select(n => n.Profile).Distinct().ToList();
        page.AppendLine($"# What the notebooks found: {string.Join(", ", profiles)} profile{(profiles.Count == 1 ? "" : "s")}").AppendLine();
        page.AppendLine($"Made by `./lab findings {folder}` from the notebooks executed there and the runs of `{Path.GetFileName(store.Path)}`; " +
                        "not edited by hand. A verdict *agrees* or *differs* when the 95% interval excludes the boundary, else it is " +
                        "*inconclusive*, with its reason.").AppendLine();
        page.AppendLine("| notebook | profile | executed (UTC) | wall time | claims | agree | differ | inconclusive |");
        page.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var n in notebooks)
            page.AppendLine($"| {n.Name} | {n.Profile} | {When(n.ExecutedAt)} | {Duration(n.Seconds)} | {n.Rows.Count} | {n.Count("agrees")} | {n.Count("differs")} | {n.Count("inconclusive")} |");
        int claims = notebooks.Sum(n => n.Rows.Count), decided = notebooks.Sum(n => n.Count("agrees") + n.Count("differs"));
        page.AppendLine($"| all | | | {Duration(notebooks.Sum(n => n.Seconds))} | {claims} | {notebooks.Sum(n => n.Count("agrees"))} | " +
                        $"{notebooks.Sum(n => n.Count("differs"))} | {notebooks.Sum(n => n.Count("inconclusive"))} |").AppendLine();
        page.AppendLine($"Decided (agrees or differs): {decided} of {claims} claims ({(claims == 0 ? 0 : 100.0 * decided / claims).ToString("F1", CultureInfo.InvariantCulture)}%).").AppendLine();

        var finished = store.Runs().Where(r => r.Status.IsFinal()).ToList();     // read once: every notebook takes its share
        foreach (var n in notebooks)
        {
            page.AppendLine($"## {n.Name}").AppendLine();
            if (n.Resolved != "")
                page.AppendLine("What it ran with (its `resolved` cell):").AppendLine().AppendLine("```text").AppendLine(n.Resolved).AppendLine("```").AppendLine();
            string number = n.Name.Split('-')[0] + "-";
            var runs = finished.Where(r => r.Experiment.StartsWith(number, StringComparison.Ordinal)).ToList();
            page.AppendLine(runs.Count == 0 ? "The store has no finished run of this notebook." : "Runs in the store:").AppendLine();
            foreach (var experiment in runs.GroupBy(r => r.Experiment).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var ended = experiment.Select(r => r.EndedAt).OfType<DateTimeOffset>().ToList();
                page.AppendLine($"- `{experiment.Key}`: {experiment.Count()} finished ({experiment.Count(r => r.Status == RunStatus.Diverged)} diverged), " +
                                $"on {Listed(experiment.Select(r => r.Device ?? "?"))}, commits {Listed(experiment.Select(r => r.GitCommit is { Length: > 7 } c ? c[..7] : r.GitCommit ?? "?"))}" +
                                (ended.Count == 0 ? "" : $", ended {ended.Min():yyyy-MM-dd HH:mm} to {ended.Max():yyyy-MM-dd HH:mm} UTC"));
            }
            if (runs.Count > 0) page.AppendLine();
            page.AppendLine("| " + string.Join(" | ", n.Columns) + " |");
            page.AppendLine("| " + string.Join(" | ", n.Columns.Select(_ => "---")) + " |");
            foreach (var row in n.Rows) page.AppendLine("| " + string.Join(" | ", row.Select(Cell)) + " |");
            page.AppendLine();
        }
        return page.ToString();
    }

    // LoraLab.Display.Table's HTML: <table class="loralab-table"><thead><tr><th>..</th>..</tr></thead><tbody><tr><td>..</td>..</tr>..</tbody></table>
    internal static (IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<string>> rows)? ParseTable(string html)
    {
        var table = LoraLabTable().Match(html);
        if (!table.Success) return null;
        var columns = HeaderCell().Matches(table.Groups["head"].Value).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).ToList();
        var rows = Row().Matches(table.Groups["body"].Value)
            .Select(row => (IReadOnlyList<string>)DataCell().Matches(row.Groups[1].Value).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).ToList())
            .Where(row => row.Count == columns.Count).ToList();
        return (columns, rows);
    }

    // A run without --profile keeps the notebook's own default: `var profile = "quick";` in the cell tagged parameters.
    private static string? DefaultProfile(JsonObject notebook) =>
        notebook["cells"]!.AsArray().Where(cell => cell?["metadata"]?["tags"]?.AsArray().Any(tag => (string?)tag == "parameters") == true)
            .Select(cell => ProfileKnob().Match(Joined(cell!["source"]!))).FirstOrDefault(m => m.Success)?.Groups[1].Value;

    // The text a notebook's cell `resolved` showed (its printed line, or its displayed value's plain text), trimmed.
    private static string ResolvedKnobs(JsonObject notebook) =>
        notebook["cells"]!.AsArray().FirstOrDefault(cell => (string?)cell?["id"] == "resolved")?["outputs"]?.AsArray()
            .Select(o => o?["text"] ?? o?["data"]?["text/plain"]).Where(text => text is not null)
            .Select(text => Joined(text!).Trim()).FirstOrDefault(text => text != "") ?? "";

    private static string Joined(JsonNode node) => node is JsonArray lines ? string.Concat(lines.Select(l => (string?)l)) : (string?)node ?? "";
    private static string Cell(string text) => text.Replace("|", "\\|").Replace("\n", " ");
    private static string Listed(IEnumerable<string> values) => string.Join(", ", values.Distinct().Order(StringComparer.Ordinal));
    private static string When(string iso) => DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
        ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "?";
    private static string Duration(double seconds) => double.IsFinite(seconds) ? LoraLab.Notebooks.Reports.Durations.FormatSeconds(seconds) : "?";

    [GeneratedRegex(@"^\d\d[a-z]?-[\w.-]+\.ipynb$")] private static partial Regex NotebookName();
    [GeneratedRegex(@"\bprofile\s*=\s*""([^""]+)""")] private static partial Regex ProfileKnob();
    [GeneratedRegex(@"<table class=""loralab-table""><thead><tr>(?<head>.*?)</tr></thead><tbody>(?<body>.*?)</tbody></table>", RegexOptions.Singleline)] private static partial Regex LoraLabTable();
    [GeneratedRegex(@"<th>(.*?)</th>", RegexOptions.Singleline)] private static partial Regex HeaderCell();
    [GeneratedRegex(@"<tr>(.*?)</tr>", RegexOptions.Singleline)] private static partial Regex Row();
    [GeneratedRegex(@"<td>(.*?)</td>", RegexOptions.Singleline)] private static partial Regex DataCell();
}
