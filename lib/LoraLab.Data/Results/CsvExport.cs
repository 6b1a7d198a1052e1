using System.Globalization;
using System.Text;

namespace LoraLab.Data.Results;

/// <summary>
/// CSV views of the results store for spreadsheets, pandas or R. Fields follow RFC 4180: a field with a
/// comma, quote or line break is wrapped in quotes and its quotes doubled (error texts and configuration
/// JSON contain all three). Numbers use the invariant culture ("0.5", never "0,5").
/// </summary>
public static class CsvExport
{
    /// <summary>One line per run; final metrics become one column each (union of names over the runs, sorted).</summary>
    public static void WriteRuns(ResultsStore store, TextWriter output, string? experiment = null)
    {
        var runs = store.Runs(experiment);
        var metricNames = runs.SelectMany(r => r.FinalMetrics.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        WriteLine(output, ["id", "experiment", "config_hash", "seed", "status", "error", "device", "git_commit",
            "started_at", "ended_at", "config_json", .. metricNames]);
        foreach (var run in runs)
        {
            WriteLine(output, [
                run.Id.ToString(CultureInfo.InvariantCulture), run.Experiment, run.ConfigHash,
                run.Seed.ToString(CultureInfo.InvariantCulture), run.Status.ToText(), run.Error ?? "",
                run.Device ?? "", run.GitCommit ?? "", run.StartedAt.ToString("O"), run.EndedAt?.ToString("O") ?? "",
                run.ConfigJson,
                .. metricNames.Select(name => run.FinalMetrics.TryGetValue(name, out double v) ? Number(v) : ""),
            ]);
        }
    }

    /// <summary>Long format: one line per (run, step, metric).</summary>
    public static void WriteMetrics(ResultsStore store, TextWriter output, string? experiment = null)
    {
        WriteLine(output, ["run_id", "experiment", "config_hash", "seed", "step", "name", "value"]);
        foreach (var run in store.Runs(experiment))
            foreach (var (name, series) in store.MetricSeries(run.Id))
                foreach (var point in series)
                    WriteLine(output, [run.Id.ToString(CultureInfo.InvariantCulture), run.Experiment, run.ConfigHash,
                        run.Seed.ToString(CultureInfo.InvariantCulture), point.Step.ToString(CultureInfo.InvariantCulture), name, Number(point.Value)]);
    }

    public static string Escape(string field)
    {
        bool needsQuotes = field.AsSpan().IndexOfAny(",\"\r\n") >= 0;
        return needsQuotes ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static void WriteLine(TextWriter output, IEnumerable<string> fields)
    {
        var line = new StringBuilder();
        foreach (string field in fields)
            line.Append(Escape(field)).Append(',');
        if (line.Length > 0) line.Length--;   // drop the trailing comma
        output.Write(line.Append("\r\n"));   // RFC 4180 line ends
    }
}
