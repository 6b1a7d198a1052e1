namespace LoraLab.Data.Results;

/// <summary>Where a run stands. Only Done and Diverged are final: a sweep never repeats them.</summary>
public enum RunStatus { Running, Done, Diverged, Failed }

/// <summary>One row of the runs table, typed.</summary>
public sealed record RunRecord(
    long Id,
    string Uid,
    string Experiment,
    string ConfigJson,
    string ConfigHash,
    int Seed,
    RunStatus Status,
    string? Error,
    string? Device,
    string? GitCommit,
    string? Host,
    int? ProcessId,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    IReadOnlyDictionary<string, double> FinalMetrics);

/// <summary>One logged value of a metric. NaN is kept as NaN (SQLite itself would store it as NULL).</summary>
public readonly record struct MetricPoint(long Step, double Value);
