using System.Diagnostics;
using System.Runtime.InteropServices;
using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Engine;

namespace LoraLab.Notebooks.Runner;

/// <summary>
/// `lab run-worker NOTEBOOK [options]`: the child process that executes one notebook for <see cref="NotebookRunner"/>.
/// It runs the code cells in order in one <see cref="CSharpKernel"/>, stops at the first failing cell, rewrites the
/// executed .ipynb and the report after every cell, and tells the runner what it does through <see cref="WorkerEvent"/>
/// lines on its standard output. A runaway cell cannot be aborted inside a .NET process, so timeouts, Ctrl-C and
/// SIGTERM are the runner's business: it kills this process and marks the cell that was running.
/// </summary>
public sealed class NotebookWorker
{
    readonly RunOptions options;
    readonly TextWriter channel;
    readonly Lock channelGate = new();
    readonly Lock documentGate = new(); // the main loop and the stdin watcher both write the result files
    readonly Stopwatch stopwatch = Stopwatch.StartNew();
    string? runningCellId;
    int runningExecutionCount;
    bool finished;

    /// <summary>The folder the notebook's pages are written to, for LoraLab.Display.PlotlySources (which this project
    /// does not reference: the notebooks load their own copy of that library).</summary>
    public const string PageFolderVariable = "LORALAB_PAGE_FOLDER";

    /// <summary>Set to 1 for a `lab run --render-only`: LoraLab's sweeps (LoraLab.Data.Sweeps.RenderOnly, which this
    /// project does not reference) then train nothing, in the notebook's process and in its sweeps' worker processes.</summary>
    public const string RenderOnlyVariable = "LORALAB_RENDER_ONLY";

    // Ctrl-C in a terminal reaches the whole process group; the runner decides what happens, so the worker ignores it.
    static PosixSignalRegistration? ignoreSigint;

    NotebookWorker(RunOptions options, TextWriter channel)
    {
        this.options = options;
        this.channel = channel;
    }

    /// <param name="channel">The process's real standard output (cells' console output is captured, not written here).</param>
    public static async Task<int> RunAsync(RunOptions options, string notebookPath, TextWriter channel)
    {
        ignoreSigint ??= PosixSignalRegistration.Create(PosixSignal.SIGINT, context => context.Cancel = true);
        return await new NotebookWorker(options, channel).RunAsync(notebookPath);
    }

    async Task<int> RunAsync(string notebookPath)
    {
        PreparedNotebook notebook;
        try
        {
            notebook = PreparedNotebook.Load(notebookPath, options);
        }
        catch (Exception error) when (error is NotebookFormatException or ParameterException)
        {
            Send(new WorkerEvent("finished", Status: NotebookRunResult.StatusName(RunStatus.Invalid), Text: error.Message));
            return ExitCodes.Failed;
        }
        var files = new ResultFiles(options, notebookPath);
        WatchForTheRunnerToGoAway(notebook, files);
        // The executed .ipynb is written to the output folder: a chart's HTML finds the installed plotly.js relative to
        // there, so that the notebook exported with nbconvert next to it draws offline (LoraLab.Display.PlotlySources).
        Environment.SetEnvironmentVariable(PageFolderVariable, Path.GetFullPath(options.OutputFolder));
        if (options.RenderOnly) Environment.SetEnvironmentVariable(RenderOnlyVariable, "1");

        var kernel = new CSharpKernel(notebook.Folder)
        {
            OutputProduced = output =>
            {
                if (output is StreamOutput stream) Send(new WorkerEvent("output", Name: stream.Name, Text: stream.Text));
            },
        };
        var cells = notebook.CodeCells;
        string? failure = null;
        for (var i = 0; i < cells.Count && failure is null; i++)
        {
            var cell = cells[i];
            var last = i == cells.Count - 1;
            if (options.SkipTagOf(cell) is { } skipTag)
            {
                var reason = SkipReason(skipTag);
                lock (documentGate)
                {
                    NbformatOutputs.MarkSkipped(cell, reason);
                    files.Write(notebook.Document, last ? NotebookRunResult.StatusName(RunStatus.Ok) : "running", stopwatch.Elapsed);
                }
                Send(new WorkerEvent("cell-skipped", i + 1, cells.Count, (string?)cell.Json["id"], Name: skipTag, Text: reason));
                continue;
            }
            var timeout = notebook.TimeoutFor(cell, options.CellTimeout);
            lock (documentGate) (runningCellId, runningExecutionCount) = ((string?)cell.Json["id"], kernel.ExecutionCount + 1);
            Send(new WorkerEvent("cell-started", i + 1, cells.Count, runningCellId, runningExecutionCount, timeout?.TotalSeconds));

            var result = cell.KernelName is null or "csharp"
                ? await kernel.ExecuteCellAsync(CSharpSource(cell))
                : new CellResult(kernel.ExecutionCount, [new ErrorOutput("UnsupportedKernel",
                    $"This cell is for the '{cell.KernelName}' kernel; lab run executes C# cells only.", [])], TimeSpan.Zero);
            if (result.Error is { } error) failure = $"cell {i + 1} of {cells.Count} failed: {error.Name}: {FirstLine(error.Message)}";
            var status = failure is not null ? RunStatus.Failed : last ? RunStatus.Ok : (RunStatus?)null;
            lock (documentGate)
            {
                NbformatOutputs.Store(cell, result);
                runningCellId = null;
                files.Write(notebook.Document, status is { } done ? NotebookRunResult.StatusName(done) : "running", stopwatch.Elapsed, failure);
            }
            Send(new WorkerEvent("cell-finished", i + 1, cells.Count, Status: result.Succeeded ? "ok" : "error",
                Seconds: result.Elapsed.TotalSeconds, Text: result.Error is { } e ? $"{e.Name}: {FirstLine(e.Message)}" : null));
        }
        lock (documentGate)
        {
            if (cells.Count == 0) files.Write(notebook.Document, "ok", stopwatch.Elapsed);
            finished = true;
        }
        Send(new WorkerEvent("finished", Status: NotebookRunResult.StatusName(failure is null ? RunStatus.Ok : RunStatus.Failed), Text: failure));
        return failure is null ? ExitCodes.Ok : ExitCodes.Failed;
    }

    // The runner holds this process's standard input open. When it closes (the runner was killed, even by SIGKILL), the
    // worker writes what it has, marked interrupted, and exits rather than run on unseen.
    void WatchForTheRunnerToGoAway(PreparedNotebook notebook, ResultFiles files)
    {
        var watcher = new Thread(() =>
        {
            using var input = Console.OpenStandardInput();
            var buffer = new byte[256];
            try { while (input.Read(buffer, 0, buffer.Length) > 0) { } }
            catch (IOException) { }
            lock (documentGate)
            {
                if (finished) return;
                const string message = "interrupted: the runner (lab run) went away while this cell was running";
                AbnormalEnd.MarkRunningCell(notebook.Document, runningCellId, runningExecutionCount, [], RunStatus.Interrupted, message, TimeSpan.Zero);
                files.Write(notebook.Document, NotebookRunResult.StatusName(RunStatus.Interrupted), stopwatch.Elapsed, message);
                Environment.Exit(ExitCodes.Interrupted);
            }
        }) { IsBackground = true, Name = "runner watcher" };
        watcher.Start();
    }

    void Send(WorkerEvent message)
    {
        lock (channelGate)
        {
            channel.WriteLine(message.ToLine());
            channel.Flush();
        }
    }

    // Polyglot Notebooks .dib-style cells may start with a "#!csharp" magic line; it is not C#.
    static string CSharpSource(NotebookCell cell)
    {
        var source = cell.Source;
        return source.StartsWith("#!csharp", StringComparison.Ordinal) || source.StartsWith("#!c#", StringComparison.Ordinal)
            ? source[(source.IndexOf('\n') is var end and >= 0 ? end + 1 : source.Length)..]
            : source;
    }

    /// <summary>Why a cell was not run, as the report and the executed notebook say it.</summary>
    public static string SkipReason(string tag) => $"skipped: tagged \"{tag}\" (lab run --skip-tag {tag})";

    internal static string FirstLine(string text) => text.Split('\n')[0].TrimEnd();
}
