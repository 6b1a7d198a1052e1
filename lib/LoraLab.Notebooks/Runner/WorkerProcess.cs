using System.Diagnostics;
using System.Reflection;
using System.Threading.Channels;
using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Engine;

namespace LoraLab.Notebooks.Runner;

/// <summary>
/// Runs one notebook in a `lab run-worker` child process and watches it: shows progress in the terminal (each cell's
/// result, its console lines dimmed, a heartbeat while a cell runs long), enforces the cell timeout, and stops the child
/// on Ctrl-C/SIGTERM. When the child ends without finishing (killed, timed out, or a cell called Environment.Exit), it
/// completes the executed notebook and report the child left after its last finished cell: the cell that was running
/// gets the output it had printed and an error saying what happened.
/// </summary>
sealed class WorkerProcess(RunOptions options, TextWriter progress)
{
    const int EchoedLinesPerCell = 40;

    readonly Stopwatch stopwatch = Stopwatch.StartNew();
    readonly Queue<string> workerErrors = new(); // the last lines of the child's own stderr, for a crash message
    WorkerEvent? running; // the cell-started event of the cell now running
    TimeSpan runningSince;
    OutputCollector printed = new();
    WorkerEvent? finished;
    string pendingLine = "", lastLine = "";
    int echoedLines;
    int skippedCells;

    public async Task<NotebookRunResult> RunAsync(PreparedNotebook notebook, CancellationToken interrupt)
    {
        var files = new ResultFiles(options, notebook.SourcePath);
        if (files.PlotlyPath is null) progress.WriteLine($"warning: {Reports.PlotlyScript.MissingMessage}");
        files.Write(notebook.Document, "running", TimeSpan.Zero); // no stale files of an earlier run if the child dies at once

        Process process;
        try { process = Start(notebook.SourcePath); }
        catch (Exception error) when (error is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            var why = options.WorkerCommand is { } command
                ? $"could not start the worker process ({string.Join(" ", command)}): {error.Message}"
                : $"could not start the worker process: {error.Message}";
            files.Write(notebook.Document, NotebookRunResult.StatusName(RunStatus.Exited), stopwatch.Elapsed, why);
            progress.WriteLine($"error: {why}");
            return Result(notebook, files, RunStatus.Exited, why);
        }
        using var _ = process;
        var events = Channel.CreateUnbounded<WorkerEvent>();
        var stdout = Task.Run(() => ReadEvents(process.StandardOutput, events.Writer));
        var stderr = Task.Run(() => ReadErrors(process.StandardError));

        var ending = await Watch(events.Reader, interrupt);
        var timedOut = running;   // the cell whose timeout ended the run, when one did
        if (ending is not null) Kill(process);
        await process.WaitForExitAsync(CancellationToken.None);
        await Task.WhenAll(stdout, stderr);
        // What it said before it ended, handled whether or not it was stopped: the child sends an event only after the
        // executed notebook on disk holds what it reports, so a cell-finished read late (a cell that ended just before
        // Ctrl-C, its next already started) is a fact, and the cell still running is the last one started.
        while (events.Reader.TryRead(out var late)) Handle(late);

        if (ending is null && finished is { } done && process.ExitCode is ExitCodes.Ok or ExitCodes.Failed)
        {
            var status = done.Status == NotebookRunResult.StatusName(RunStatus.Ok) ? RunStatus.Ok
                : done.Status == NotebookRunResult.StatusName(RunStatus.Invalid) ? RunStatus.Invalid : RunStatus.Failed;
            return Result(notebook, files, status, done.Text);
        }
        var (endStatus, message) = Describe(ending, process.ExitCode, notebook, timedOut);
        var executed = LoadOr(files.ExecutedPath, notebook.Document);
        AbnormalEnd.MarkRunningCell(executed, running?.Id, running?.ExecutionCount ?? 0, printed.Outputs, endStatus, message,
            running is null ? TimeSpan.Zero : stopwatch.Elapsed - runningSince);
        files.Write(executed, NotebookRunResult.StatusName(endStatus), stopwatch.Elapsed, message);
        progress.WriteLine($"{Label()} {NotebookRunResult.StatusName(endStatus).ToUpperInvariant()}: {message}");
        return Result(notebook, files, endStatus, message);
    }

    NotebookRunResult Result(PreparedNotebook notebook, ResultFiles files, RunStatus status, string? message)
    {
        var result = new NotebookRunResult(notebook.Name, notebook.SourcePath, status, stopwatch.Elapsed, files.ExecutedPath, files.ReportPath, message,
            skippedCells);
        var skipped = options.SkippedNote(skippedCells) is { } note ? $", {note}" : "";
        progress.WriteLine($"{notebook.Name}: {result.StatusText} in {Reports.Durations.Format(result.Elapsed)}{skipped} -> {result.ReportPath}");
        return result;
    }

    /// <summary>Handles events until the child finishes (null) or must be stopped (TimedOut or Interrupted).</summary>
    async Task<RunStatus?> Watch(ChannelReader<WorkerEvent> events, CancellationToken interrupt)
    {
        var nextHeartbeat = options.Heartbeat;
        while (true)
        {
            var deadline = running?.TimeoutSeconds is { } seconds ? runningSince + TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
            var wake = Min(deadline, running is null ? TimeSpan.MaxValue : runningSince + nextHeartbeat) - stopwatch.Elapsed;
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(interrupt);
            if (wake < TimeSpan.FromDays(1)) wait.CancelAfter(wake < TimeSpan.Zero ? TimeSpan.Zero : wake);
            try
            {
                if (!await events.WaitToReadAsync(wait.Token)) return null; // the child closed its output: it ended
                while (events.TryRead(out var message))
                {
                    if (message.Kind == "cell-started") nextHeartbeat = options.Heartbeat;
                    Handle(message);
                }
            }
            catch (OperationCanceledException)
            {
                if (interrupt.IsCancellationRequested) return RunStatus.Interrupted;
                if (stopwatch.Elapsed >= deadline) return RunStatus.TimedOut;
                progress.WriteLine($"{Label()} running {(stopwatch.Elapsed - runningSince).TotalSeconds:0}s" +
                    (lastLine.Length > 0 ? $" · last output: {Shorten(lastLine)}" : ""));
                nextHeartbeat += options.Heartbeat;
            }
        }
    }

    void Handle(WorkerEvent message)
    {
        switch (message.Kind)
        {
            case "warning":
                progress.WriteLine($"warning: {message.Text}");
                break;
            case "cell-started":
                (running, runningSince, printed, pendingLine, lastLine, echoedLines) = (message, stopwatch.Elapsed, new OutputCollector(), "", "", 0);
                break;
            case "output":
                (message.Name == "stderr" ? printed.StandardError : printed.StandardOutput).Write(message.Text);
                Echo(message.Text ?? "");
                break;
            case "cell-finished":
                if (pendingLine.Length > 0) Echo("\n");
                progress.WriteLine(message.Status == "ok"
                    ? $"{Label()} ok {message.Seconds:0.0}s"
                    : $"{Label()} FAILED {message.Seconds:0.0}s: {message.Text}");
                running = null;
                break;
            case "cell-skipped":
                progress.WriteLine($"[{message.Number}/{message.Count}] cell skipped: tagged \"{message.Name}\"");
                skippedCells++;
                break;
            case "finished":
                finished = message;
                if (message.Status == NotebookRunResult.StatusName(RunStatus.Invalid)) progress.WriteLine($"error: {message.Text}");
                break;
        }
    }

    // The cell's console lines, dimmed, so a long cell shows signs of life; the report keeps them all (up to its cap).
    void Echo(string text)
    {
        var lines = (pendingLine + text.Replace("\r\n", "\n").Replace('\r', '\n')).Split('\n');
        pendingLine = lines[^1];
        foreach (var line in lines[..^1])
        {
            if (line.Length > 0) lastLine = line;
            if (++echoedLines < EchoedLinesPerCell) progress.WriteLine(Dim($"    | {Shorten(line, 200)}"));
            else if (echoedLines == EchoedLinesPerCell) progress.WriteLine(Dim("    | ... (more output in the report; the heartbeat shows the latest line)"));
        }
    }

    string Label() => running is null ? "" : $"[{running.Number}/{running.Count}] cell";

    (RunStatus, string) Describe(RunStatus? ending, int exitCode, PreparedNotebook notebook, WorkerEvent? timedOut)
    {
        var where = running is null ? "between cells" : $"in cell {running.Number} of {running.Count}";
        return ending switch
        {
            RunStatus.TimedOut => (RunStatus.TimedOut, $"cell {timedOut!.Number} of {timedOut.Count} ran past its timeout of {timedOut.TimeoutSeconds:0.###} s and was stopped"),
            RunStatus.Interrupted => (RunStatus.Interrupted, $"interrupted (Ctrl-C or SIGTERM) {where}"),
            _ when exitCode is 129 or 130 or 137 or 143 =>
                (RunStatus.Interrupted, $"the worker process was stopped by signal {SignalName(exitCode - 128)} {where}"),
            _ when running is not null => (RunStatus.Exited, $"cell {running.Number} of {running.Count} exited the process with code {exitCode}"),
            _ => (RunStatus.Exited, $"the worker process for {notebook.Name} ended with code {exitCode} {where}" +
                (workerErrors.Count > 0 ? ": " + string.Join(" / ", workerErrors) : "")),
        };
    }

    static string SignalName(int signal) => signal switch { 1 => "SIGHUP", 2 => "SIGINT", 9 => "SIGKILL", 15 => "SIGTERM", _ => $"{signal}" };

    Process Start(string notebookPath)
    {
        var command = options.WorkerCommand ?? DefaultWorkerCommand();
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true, // held open: the worker exits when it closes (this process died)
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in command.Skip(1).Append(notebookPath).Concat(options.ToArguments())) start.ArgumentList.Add(arg);
        foreach (var (name, value) in options.Environment) start.Environment[name] = value;
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start the worker process {command[0]}");
    }

    /// <summary>
    /// The `lab` program with the hidden run-worker command: this process again when it is lab (`dotnet lab.dll` or the
    /// `lab` executable), else a lab.dll next to this library (another host, e.g. a test runner).
    /// </summary>
    static IReadOnlyList<string> DefaultWorkerCommand()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var entry = Assembly.GetEntryAssembly();
        var viaDotnet = Path.GetFileNameWithoutExtension(host) == "dotnet";
        if (entry?.GetName().Name == "lab") return viaDotnet ? [host, entry.Location, "run-worker"] : [host, "run-worker"];
        var nextToUs = Path.Combine(AppContext.BaseDirectory, "lab.dll");
        if (File.Exists(nextToUs)) return [viaDotnet ? host : "dotnet", nextToUs, "run-worker"];
        throw new InvalidOperationException(
            $"cannot find the lab program to run notebooks in (this process is {host}, and {nextToUs} does not exist); set RunOptions.WorkerCommand");
    }

    static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // it had already exited
    }

    async Task ReadEvents(StreamReader output, ChannelWriter<WorkerEvent> events)
    {
        while (await output.ReadLineAsync() is { } line)
        {
            if (WorkerEvent.FromLine(line) is { } message) events.TryWrite(message);
            else progress.WriteLine(Dim(line)); // e.g. a native library printing to the process's stdout
        }
        events.TryComplete();
    }

    async Task ReadErrors(StreamReader errors)
    {
        while (await errors.ReadLineAsync() is { } line)
        {
            progress.WriteLine(Dim(line));
            lock (workerErrors)
            {
                workerErrors.Enqueue(line.Trim());
                if (workerErrors.Count > 5) workerErrors.Dequeue();
            }
        }
    }

    static NotebookDocument LoadOr(string path, NotebookDocument fallback)
    {
        try { return NotebookDocument.Load(path); }
        catch (NotebookFormatException) { return fallback; }
    }

    string Dim(string text) => options.Color ? $"\u001b[2m{text}\u001b[0m" : text;
    static string Shorten(string text, int length = 100) => text.Length <= length ? text : text[..length] + "...";
    static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
