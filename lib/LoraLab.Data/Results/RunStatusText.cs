namespace LoraLab.Data.Results;

/// <summary>The lower-case words the database stores for <see cref="RunStatus"/> (readable in any SQLite browser).</summary>
public static class RunStatusText
{
    public static string ToText(this RunStatus status) => status switch
    {
        RunStatus.Running => "running",
        RunStatus.Done => "done",
        RunStatus.Diverged => "diverged",
        _ => "failed",
    };

    public static RunStatus Parse(string text) => text switch
    {
        "running" => RunStatus.Running,
        "done" => RunStatus.Done,
        "diverged" => RunStatus.Diverged,
        "failed" => RunStatus.Failed,
        _ => throw new InvalidDataException($"Unknown run status '{text}' in the results database."),
    };

    /// <summary>True for statuses a sweep treats as finished (never re-run).</summary>
    public static bool IsFinal(this RunStatus status) => status is RunStatus.Done or RunStatus.Diverged;
}
