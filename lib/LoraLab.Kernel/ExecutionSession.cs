using System.Text.Json.Nodes;
using LoraLab.Kernel.Protocol;
using LoraLab.Notebooks.Engine;

namespace LoraLab.Kernel;

/// <summary>
/// Runs execute_requests on the engine's C# session and answers them: publishes execute_input and the outputs,
/// keeps Jupyter's execution count (only cells with store_history count), records history, and lets the control
/// channel (or SIGINT) interrupt the running cell.
/// </summary>
sealed class ExecutionSession(CSharpKernel engine, IopubChannel iopub, StdinReader stdin)
{
    readonly Lock gate = new();
    CancellationTokenSource? running;
    int executionCount;

    public CSharpKernel Engine => engine;
    public CellHistory History { get; } = new(iopub.Session);

    /// <summary>Stops the running cell at its next loop iteration (see CellInterruption); nothing if none runs.</summary>
    public void Interrupt()
    {
        lock (gate) running?.Cancel();
    }

    public JsonObject Execute(JupyterMessage request)
    {
        var code = (string?)request.Content["code"] ?? "";
        var silent = (bool?)request.Content["silent"] ?? false;
        var storeHistory = !silent && ((bool?)request.Content["store_history"] ?? true);
        if (storeHistory) executionCount++;
        // The cell becomes interruptible before a client can hear that it started: an interrupt sent on seeing
        // execute_input (as the Jupyter protocol invites) must find it, even when a busy machine delays this thread.
        using var interrupt = new CancellationTokenSource();
        lock (gate) running = interrupt;
        if (!silent) iopub.Publish("execute_input", new JsonObject { ["code"] = code, ["execution_count"] = executionCount }, request);
        using var outputs = new JupyterOutputs(iopub, request, executionCount);
        stdin.Begin(request, interrupt.Token);
        engine.Observer = silent ? null : outputs;
        CellResult? result = null;
        ErrorOutput? error;
        try
        {
            result = engine.ExecuteCellAsync(code, interrupt.Token).GetAwaiter().GetResult();
            error = result.Error;
        }
        catch (OperationCanceledException)
        {
            error = new ErrorOutput("System.OperationCanceledException", "", []);
        }
        finally
        {
            engine.Observer = null;
            stdin.End();
            lock (gate) running = null;
        }

        if (error is not null && interrupt.IsCancellationRequested && error.Name == typeof(OperationCanceledException).FullName)
            // Only the cell's own frames: where it was when it stopped, not the machinery that stopped it.
            error = new ErrorOutput("Interrupted", "the cell was interrupted",
                ["Interrupted: the cell was interrupted", .. error.Traceback.Where(frame => frame.Contains("Submission#", StringComparison.Ordinal))]);
        if (error is not null && !silent) outputs.PublishError(error);
        outputs.Flush();
        if (storeHistory) History.Add(executionCount, code, ResultText(result));

        if (error is null)
            return new JsonObject
            {
                ["status"] = "ok", ["execution_count"] = executionCount,
                ["user_expressions"] = new JsonObject(), ["payload"] = new JsonArray(),
            };
        var reply = JupyterOutputs.ErrorContent(error);
        reply["status"] = "error";
        reply["execution_count"] = executionCount;
        return reply;
    }

    static string? ResultText(CellResult? result) =>
        result?.Outputs.OfType<DisplayOutput>().LastOrDefault(output => output.IsResult)?.Data.GetValueOrDefault(ValueFormatter.PlainText);
}
