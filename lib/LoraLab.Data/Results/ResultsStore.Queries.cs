using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace LoraLab.Data.Results;

/// <summary>Read side of the results store: typed rows and metric series.</summary>
public sealed partial class ResultsStore
{
    private const string RunColumns =
        "id, uid, experiment, config_json, config_hash, seed, status, error, device, git_commit, host, pid, started_at, ended_at, final_metrics_json";

    /// <summary>Runs, oldest first, optionally only of one experiment and/or one status.</summary>
    public IReadOnlyList<RunRecord> Runs(string? experiment = null, RunStatus? status = null)
    {
        lock (_lock)
        {
            using var command = Command($"SELECT {RunColumns} FROM runs WHERE ($e IS NULL OR experiment = $e) AND ($st IS NULL OR status = $st) ORDER BY id",
                ("$e", experiment), ("$st", status?.ToText()));
            return ReadRuns(command);
        }
    }

    public RunRecord? Run(long id)
    {
        lock (_lock)
        {
            using var command = Command($"SELECT {RunColumns} FROM runs WHERE id = $id", ("$id", id));
            return ReadRuns(command).SingleOrDefault();
        }
    }

    /// <summary>The done or diverged run for (experiment, config hash, seed), if there is one.</summary>
    public RunRecord? FinishedRun(string experiment, string configHash, int seed)
    {
        lock (_lock)
        {
            using var command = Command($"SELECT {RunColumns} FROM runs WHERE experiment = $e AND config_hash = $h AND seed = $s AND status IN ('done', 'diverged')",
                ("$e", experiment), ("$h", configHash), ("$s", seed));
            return ReadRuns(command).SingleOrDefault();
        }
    }

    /// <summary>One metric of one run as a series ordered by step.</summary>
    public IReadOnlyList<MetricPoint> MetricSeries(long runId, string name)
    {
        lock (_lock)
        {
            using var command = Command("SELECT step, value FROM metrics WHERE run_id = $r AND name = $n ORDER BY step", ("$r", runId), ("$n", name));
            using var reader = command.ExecuteReader();
            var series = new List<MetricPoint>();
            while (reader.Read())
                series.Add(new MetricPoint(reader.GetInt64(0), reader.IsDBNull(1) ? double.NaN : reader.GetDouble(1)));
            return series;
        }
    }

    /// <summary>Every metric of one run: name → series ordered by step.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<MetricPoint>> MetricSeries(long runId)
    {
        lock (_lock)
        {
            using var command = Command("SELECT name, step, value FROM metrics WHERE run_id = $r ORDER BY name, step", ("$r", runId));
            using var reader = command.ExecuteReader();
            var series = new SortedDictionary<string, List<MetricPoint>>(StringComparer.Ordinal);
            while (reader.Read())
            {
                string name = reader.GetString(0);
                if (!series.TryGetValue(name, out var points))
                    series[name] = points = [];
                points.Add(new MetricPoint(reader.GetInt64(1), reader.IsDBNull(2) ? double.NaN : reader.GetDouble(2)));
            }
            return series.ToDictionary(pair => pair.Key, pair => (IReadOnlyList<MetricPoint>)pair.Value, StringComparer.Ordinal);
        }
    }

    private static List<RunRecord> ReadRuns(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var runs = new List<RunRecord>();
        while (reader.Read())
        {
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            string? finalJson = Text(14);
            runs.Add(new RunRecord(
                Id: reader.GetInt64(0),
                Uid: reader.GetString(1),
                Experiment: reader.GetString(2),
                ConfigJson: reader.GetString(3),
                ConfigHash: reader.GetString(4),
                Seed: reader.GetInt32(5),
                Status: RunStatusText.Parse(reader.GetString(6)),
                Error: Text(7),
                Device: Text(8),
                GitCommit: Text(9),
                Host: Text(10),
                ProcessId: reader.IsDBNull(11) ? null : reader.GetInt32(11),
                StartedAt: DateTimeOffset.Parse(reader.GetString(12), CultureInfo.InvariantCulture),
                EndedAt: Text(13) is { } ended ? DateTimeOffset.Parse(ended, CultureInfo.InvariantCulture) : null,
                FinalMetrics: finalJson is null
                    ? new Dictionary<string, double>()
                    : JsonSerializer.Deserialize<Dictionary<string, double>>(finalJson, MetricJson)!));
        }
        return runs;
    }
}
