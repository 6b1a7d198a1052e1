using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Engine;

namespace LoraLab.Notebooks.Runner;

/// <summary>
/// Marks the cell that was running when a run was stopped from outside (timeout, exit, interrupt): the console output it
/// had printed, then an error output saying what happened, and the status in its metadata.loralab. The cells that had
/// finished keep their outputs; the later ones stay "not run".
/// </summary>
public static class AbnormalEnd
{
    public static void MarkRunningCell(NotebookDocument notebook, string? cellId, int executionCount, IEnumerable<CellOutput> printed,
        RunStatus status, string message, TimeSpan elapsed)
    {
        var cell = notebook.Cells.FirstOrDefault(cell => cell.IsCode && cellId is not null && (string?)cell.Json["id"] == cellId);
        if (cell is null) return;
        var errorName = status switch
        {
            RunStatus.TimedOut => "CellTimeout",
            RunStatus.Exited => "ProcessExited",
            _ => "Interrupted",
        };
        var outputs = printed.Append(new ErrorOutput(errorName, message, [$"{errorName}: {message}"])).ToList();
        NbformatOutputs.Store(cell, new CellResult(Math.Max(1, executionCount), outputs, elapsed), NotebookRunResult.StatusName(status));
    }
}
