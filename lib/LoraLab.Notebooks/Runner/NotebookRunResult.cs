namespace LoraLab.Notebooks.Runner;

/// <summary>How running one notebook ended.</summary>
public enum RunStatus
{
    /// <summary>Every code cell ran without an error.</summary>
    Ok,
    /// <summary>A cell failed; the notebook stopped there.</summary>
    Failed,
    /// <summary>The file is missing or is not an nbformat 4 notebook; nothing ran.</summary>
    Invalid,
}

/// <summary>The outcome of one notebook: status, time, the files written, and what went wrong if anything.</summary>
public sealed record NotebookRunResult(
    string Name,
    string SourcePath,
    RunStatus Status,
    TimeSpan Elapsed,
    string? ExecutedNotebookPath = null,
    string? ReportPath = null,
    string? Message = null)
{
    public string StatusText => Status.ToString().ToLowerInvariant();
}
