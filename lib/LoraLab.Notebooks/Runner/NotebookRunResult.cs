namespace LoraLab.Notebooks.Runner;

/// <summary>How running one notebook ended. The order is severity: the command's exit code is that of the worst one.</summary>
public enum RunStatus
{
    /// <summary>Every code cell ran without an error.</summary>
    Ok,
    /// <summary>Not started: an earlier notebook was interrupted.</summary>
    NotRun,
    /// <summary>A cell failed (an exception or a compile error); the notebook stopped there.</summary>
    Failed,
    /// <summary>The file is missing or is not an nbformat 4 notebook; nothing ran.</summary>
    Invalid,
    /// <summary>A cell ran past its timeout and was stopped.</summary>
    TimedOut,
    /// <summary>A cell ended the process (Environment.Exit, a native crash), or the worker process died between cells.</summary>
    Exited,
    /// <summary>Ctrl-C, SIGTERM, or a signal that killed the worker process.</summary>
    Interrupted,
}

/// <summary>
/// The outcome of one notebook: status, time, the files written, what went wrong if anything, and how many code cells
/// were skipped on purpose (--skip-tag).
/// </summary>
public sealed record NotebookRunResult(
    string Name,
    string SourcePath,
    RunStatus Status,
    TimeSpan Elapsed,
    string? ExecutedNotebookPath = null,
    string? ReportPath = null,
    string? Message = null,
    int SkippedCells = 0)
{
    public string StatusText => StatusName(Status);

    /// <summary>The status as written into executed notebooks, reports and the index: "ok", "failed", "timed-out", ...</summary>
    public static string StatusName(RunStatus status) => status switch
    {
        RunStatus.NotRun => "not-run",
        RunStatus.TimedOut => "timed-out",
        _ => status.ToString().ToLowerInvariant(),
    };
}
