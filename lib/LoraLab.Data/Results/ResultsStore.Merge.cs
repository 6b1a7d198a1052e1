using Microsoft.Data.Sqlite;

namespace LoraLab.Data.Results;

/// <summary>How many runs a merge copied and how many it left out as already present.</summary>
public sealed record MergeReport(int RunsCopied, int RunsSkipped);

/// <summary>Combining shard databases (one per machine of a sharded sweep) into one.</summary>
public sealed partial class ResultsStore
{
    /// <summary>
    /// Copies the finished and failed runs of another results database, with their metrics, into this one.
    /// A run is skipped when its uid is already here (merging the same shard twice changes nothing) or when
    /// it is done/diverged and this database already has a done/diverged run for the same
    /// (experiment, config hash, seed). "running" rows are skipped: they belong to a process that is either
    /// still working or dead, and in both cases the source shard, not the merge, will settle them.
    /// Everything happens in one transaction: a killed merge copies nothing. Runs that <paramref name="leaveOut"/> names
    /// are not copied either (and not counted): a GPU run exports only the runs that the committed shards lack.
    /// </summary>
    public MergeReport MergeFrom(string otherDatabasePath, RunSet? leaveOut = null)
    {
        if (!File.Exists(otherDatabasePath))
            throw new FileNotFoundException($"Results database '{otherDatabasePath}' does not exist.", otherDatabasePath);
        List<RunRecord> incoming;
        var incomingMetrics = new Dictionary<long, List<(long Step, string Name, double Value)>>();
        using (var other = new ResultsStore(otherDatabasePath))
        {
            incoming = other.Runs().Where(run => run.Status != RunStatus.Running && leaveOut?.Contains(run) != true).ToList();
            foreach (var run in incoming)
                incomingMetrics[run.Id] = other.MetricSeries(run.Id)
                    .SelectMany(series => series.Value.Select(point => (point.Step, series.Key, point.Value)))
                    .ToList();
        }

        int copied = 0, skipped = 0;
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction(deferred: false);
            foreach (var run in incoming)
            {
                if (Exists("SELECT 1 FROM runs WHERE uid = $u", ("$u", run.Uid)) ||
                    (run.Status.IsFinal() && Exists(
                        "SELECT 1 FROM runs WHERE experiment = $e AND config_hash = $h AND seed = $s AND status IN ('done', 'diverged')",
                        ("$e", run.Experiment), ("$h", run.ConfigHash), ("$s", run.Seed))))
                {
                    skipped++;
                    continue;
                }
                using var insert = Command("""
                    INSERT INTO runs (uid, experiment, config_json, config_hash, seed, status, error, device, git_commit, host, pid, started_at, ended_at, final_metrics_json)
                    VALUES ($uid, $e, $json, $h, $s, $st, $err, $device, $commit, $host, $pid, $start, $end, $m) RETURNING id
                    """,
                    ("$uid", run.Uid), ("$e", run.Experiment), ("$json", run.ConfigJson), ("$h", run.ConfigHash), ("$s", run.Seed),
                    ("$st", run.Status.ToText()), ("$err", run.Error), ("$device", run.Device), ("$commit", run.GitCommit),
                    ("$host", run.Host), ("$pid", run.ProcessId), ("$start", run.StartedAt.ToString("O")),
                    ("$end", run.EndedAt?.ToString("O")),
                    ("$m", run.FinalMetrics.Count == 0 ? null : System.Text.Json.JsonSerializer.Serialize(run.FinalMetrics, MetricJson)));
                long newId = (long)insert.ExecuteScalar()!;
                InsertMetrics(newId, incomingMetrics[run.Id]);
                copied++;
            }
            transaction.Commit();
        }
        return new MergeReport(copied, skipped);
    }

    /// <summary>The databases that paths name, in order: a file as it is, a folder as its *.db files sorted by name (a
    /// folder of shards, such as data/results/paper/). A path that is neither is refused.</summary>
    public static IReadOnlyList<string> Databases(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (string path in paths)
            if (Directory.Exists(path)) files.AddRange(Directory.GetFiles(path, "*.db").Order(StringComparer.Ordinal));
            else if (File.Exists(path)) files.Add(path);
            else throw new FileNotFoundException($"Results database '{path}' does not exist.", path);
        return files;
    }

    private bool Exists(string sql, params (string Name, object? Value)[] parameters)
    {
        using SqliteCommand command = Command(sql, parameters);
        return command.ExecuteScalar() is not null;
    }
}
