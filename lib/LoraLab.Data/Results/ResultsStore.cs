using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace LoraLab.Data.Results;

/// <summary>
/// The results database: an SQLite file (default <c>data/results.db</c>) holding every run of every
/// sweep and its per-step metrics.
///
/// Crash safety is the point of the design. The database runs in WAL mode and every change is one
/// transaction, so a process killed with SIGKILL at any instant leaves either the whole change or none
/// of it. A run is first written as "running" (owned by host + process id) and only later turned into
/// done / diverged / failed; a "running" row whose owner process no longer exists is abandoned and is
/// re-run by the next sweep. A partial unique index allows at most one done-or-diverged row per
/// (experiment, config hash, seed), so the database itself refuses duplicate finished runs.
/// Several processes on one machine may share a database: claiming a run happens inside an IMMEDIATE
/// transaction, and a run claimed by a live process is left to it.
/// </summary>
public sealed partial class ResultsStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly object _lock = new();
    private static readonly JsonSerializerOptions MetricJson = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public ResultsStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        // Pooling off: the file is really closed on Dispose, so tests and merges can delete or move it.
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Pooling = false,
            DefaultTimeout = 60,
        }.ToString());
        _connection.Open();
        // WAL: readers never block the writer and a killed writer leaves the database consistent.
        // synchronous=NORMAL is durable against process crashes (not power loss), which is what sweeps face.
        // busy_timeout: wait for another process's transaction instead of failing at once.
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=60000; PRAGMA foreign_keys=ON;");
        CreateSchema();
    }

    /// <summary>Names the database <see cref="OpenDefault"/> opens instead of data/results.db: `lab run --profile paper`
    /// points it at data/results/paper.db, the merge of the committed paper shards (the variable reaches the notebooks'
    /// processes and their sweeps' workers).</summary>
    public const string DefaultPathVariable = "LORALAB_RESULTS_DB";

    /// <summary>The database a notebook uses when its store_path knob is empty: <see cref="DefaultPathVariable"/>, else
    /// <c>data/results.db</c> in the repository.</summary>
    public static string DefaultPath() => Environment.GetEnvironmentVariable(DefaultPathVariable) is { Length: > 0 } path
        ? System.IO.Path.GetFullPath(path)
        : System.IO.Path.Combine(DataRoot.RepositoryRoot(), "data", "results.db");

    /// <summary>The store at <see cref="DefaultPath"/>.</summary>
    public static ResultsStore OpenDefault() => new(DefaultPath());

    public string Path { get; }

    private void CreateSchema() => Execute("""
        CREATE TABLE IF NOT EXISTS runs (
            id                 INTEGER PRIMARY KEY AUTOINCREMENT,
            uid                TEXT NOT NULL UNIQUE,      -- global identity, survives merging databases
            experiment         TEXT NOT NULL,
            config_json        TEXT NOT NULL,             -- canonical JSON (sorted keys)
            config_hash        TEXT NOT NULL,
            seed               INTEGER NOT NULL,
            status             TEXT NOT NULL CHECK (status IN ('running', 'done', 'diverged', 'failed')),
            error              TEXT,
            device             TEXT,
            git_commit         TEXT,
            host               TEXT,
            pid                INTEGER,
            started_at         TEXT NOT NULL,             -- ISO 8601, UTC
            ended_at           TEXT,
            final_metrics_json TEXT
        );
        CREATE INDEX IF NOT EXISTS runs_by_key ON runs (experiment, config_hash, seed);
        CREATE UNIQUE INDEX IF NOT EXISTS one_finished_run_per_key
            ON runs (experiment, config_hash, seed) WHERE status IN ('done', 'diverged');
        CREATE TABLE IF NOT EXISTS metrics (
            run_id INTEGER NOT NULL REFERENCES runs (id),
            step   INTEGER NOT NULL,
            name   TEXT NOT NULL,
            value  REAL,                                  -- NULL stands for NaN (SQLite cannot store NaN)
            PRIMARY KEY (run_id, name, step)
        ) WITHOUT ROWID;
        """);

    /// <summary>
    /// Claims (experiment, config, seed) for this process: returns the new "running" row's id, or null when
    /// the run is already done/diverged or a live process is running it. Abandoned "running" rows (their
    /// process is gone) are marked failed on the way, so the history of crashed attempts is kept.
    /// </summary>
    public long? TryStartRun(string experiment, string configJson, string configHash, int seed, string? device = null, string? gitCommit = null)
    {
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction(deferred: false);   // BEGIN IMMEDIATE: one claimer at a time
            var existing = new List<(long Id, RunStatus Status, string? Host, int? Pid)>();
            using (var query = Command("SELECT id, status, host, pid FROM runs WHERE experiment = $e AND config_hash = $h AND seed = $s AND status != 'failed'",
                       ("$e", experiment), ("$h", configHash), ("$s", seed)))
            using (var reader = query.ExecuteReader())
                while (reader.Read())
                    existing.Add((reader.GetInt64(0), RunStatusText.Parse(reader.GetString(1)),
                        reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt32(3)));

            if (existing.Any(run => run.Status.IsFinal()))
                return null;
            foreach (var run in existing)
            {
                if (IsOwnedByLiveProcess(run.Host, run.Pid))
                    return null;
                Command("UPDATE runs SET status = 'failed', ended_at = $t, error = $err WHERE id = $id",
                    ("$t", Now()), ("$err", $"abandoned: process {run.Pid} on {run.Host} stopped while the run was in progress"), ("$id", run.Id))
                    .ExecuteNonQueryAndDispose();
            }

            using var insert = Command("""
                INSERT INTO runs (uid, experiment, config_json, config_hash, seed, status, device, git_commit, host, pid, started_at)
                VALUES ($uid, $e, $json, $h, $s, 'running', $device, $commit, $host, $pid, $t) RETURNING id
                """,
                ("$uid", Guid.NewGuid().ToString("N")), ("$e", experiment), ("$json", configJson), ("$h", configHash), ("$s", seed),
                ("$device", device), ("$commit", gitCommit), ("$host", Environment.MachineName), ("$pid", Environment.ProcessId), ("$t", Now()));
            long id = (long)insert.ExecuteScalar()!;
            transaction.Commit();
            return id;
        }
    }

    /// <summary>Adds per-step metric values in one transaction (a later value for the same step and name replaces the earlier).</summary>
    public void AppendMetrics(long runId, IReadOnlyCollection<(long Step, string Name, double Value)> points)
    {
        if (points.Count == 0) return;
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            InsertMetrics(runId, points);
            transaction.Commit();
        }
    }

    /// <summary>
    /// Records how a run ended, together with its last unsaved metrics, in one transaction — so a kill
    /// can never leave a "done" row whose metrics are missing.
    /// </summary>
    public void FinishRun(long runId, RunStatus status, string? error = null,
        IReadOnlyDictionary<string, double>? finalMetrics = null,
        IReadOnlyCollection<(long Step, string Name, double Value)>? lastPoints = null)
    {
        if (status == RunStatus.Running)
            throw new ArgumentException("A finished run cannot have status Running.", nameof(status));
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            if (lastPoints is not null)
                InsertMetrics(runId, lastPoints);
            Command("UPDATE runs SET status = $st, error = $err, ended_at = $t, final_metrics_json = $m WHERE id = $id",
                ("$st", status.ToText()), ("$err", error), ("$t", Now()),
                ("$m", finalMetrics is null ? null : JsonSerializer.Serialize(finalMetrics, MetricJson)), ("$id", runId))
                .ExecuteNonQueryAndDispose();
            transaction.Commit();
        }
    }

    private void InsertMetrics(long runId, IEnumerable<(long Step, string Name, double Value)> points)
    {
        using var insert = Command("INSERT OR REPLACE INTO metrics (run_id, step, name, value) VALUES ($r, $s, $n, $v)",
            ("$r", runId), ("$s", 0L), ("$n", ""), ("$v", 0.0));
        foreach (var (step, name, value) in points)
        {
            insert.Parameters["$s"].Value = step;
            insert.Parameters["$n"].Value = name;
            insert.Parameters["$v"].Value = double.IsNaN(value) ? DBNull.Value : value;
            insert.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// A run's owner is alive if it is another process on this machine that still exists.
    /// Our own process id means a row left behind by an earlier attempt in this very process (which can
    /// only happen through a bug or a kill of a previous process that had our id), so it is not "live".
    /// </summary>
    private static bool IsOwnedByLiveProcess(string? host, int? pid)
    {
        if (host != Environment.MachineName || pid is null || pid == Environment.ProcessId)
            return false;
        try
        {
            using var process = Process.GetProcessById(pid.Value);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private void Execute(string sql)
    {
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    public void Dispose() => _connection.Dispose();
}

internal static class SqliteCommandExtensions
{
    public static int ExecuteNonQueryAndDispose(this SqliteCommand command)
    {
        using (command) return command.ExecuteNonQuery();
    }
}
