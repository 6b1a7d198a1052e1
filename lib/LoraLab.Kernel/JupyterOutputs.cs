using System.Text;
using System.Text.Json.Nodes;
using LoraLab.Kernel.Protocol;
using LoraLab.Notebooks.Engine;

namespace LoraLab.Kernel;

/// <summary>
/// Publishes a running cell's outputs on IOPub as they happen: stream, display_data, update_display_data and
/// execute_result. Console writes are buffered for a few milliseconds and sent as one stream message, so a loop that
/// prints a character at a time does not send a message per character; the buffer is flushed before any other output,
/// keeping the order the cell wrote in.
/// </summary>
sealed class JupyterOutputs : ICellOutputObserver, IDisposable
{
    static readonly TimeSpan FlushDelay = TimeSpan.FromMilliseconds(50);

    readonly IopubChannel iopub;
    readonly JupyterMessage request;
    readonly int executionCount;
    readonly Lock gate = new();
    readonly StringBuilder pending = new();
    readonly Timer flushTimer;
    string? pendingStream;

    public JupyterOutputs(IopubChannel iopub, JupyterMessage request, int executionCount)
    {
        this.iopub = iopub;
        this.request = request;
        this.executionCount = executionCount;
        flushTimer = new Timer(_ => Flush());
    }

    public void OnStream(string name, string text)
    {
        lock (gate)
        {
            if (pendingStream != name) FlushLocked();
            pendingStream = name;
            pending.Append(text);
            flushTimer.Change(FlushDelay, Timeout.InfiniteTimeSpan);
        }
    }

    public void OnDisplay(DisplayOutput output, object? value, string? displayId)
    {
        lock (gate)
        {
            FlushLocked();
            var data = MimeBundles.ToJupyter(output.Data, value);
            if (output.IsResult)
                iopub.Publish("execute_result", new JsonObject { ["execution_count"] = executionCount, ["data"] = data, ["metadata"] = new JsonObject() }, request);
            else
                iopub.Publish("display_data", DisplayContent(data, displayId), request);
        }
    }

    public void OnUpdateDisplay(DisplayOutput output, object? value, string displayId)
    {
        lock (gate)
        {
            FlushLocked();
            iopub.Publish("update_display_data", DisplayContent(MimeBundles.ToJupyter(output.Data, value), displayId), request);
        }
    }

    public void PublishError(ErrorOutput error)
    {
        lock (gate)
        {
            FlushLocked();
            iopub.Publish("error", ErrorContent(error), request);
        }
    }

    public static JsonObject ErrorContent(ErrorOutput error) => new()
    {
        ["ename"] = error.Name,
        ["evalue"] = error.Message,
        ["traceback"] = new JsonArray(error.Traceback.Select(line => (JsonNode?)line).ToArray()),
    };

    public void Flush()
    {
        lock (gate) FlushLocked();
    }

    void FlushLocked()
    {
        if (pending.Length == 0 || pendingStream is null) return;
        iopub.Publish("stream", new JsonObject { ["name"] = pendingStream, ["text"] = pending.ToString() }, request);
        pending.Clear();
    }

    static JsonObject DisplayContent(JsonObject data, string? displayId) => new()
    {
        ["data"] = data,
        ["metadata"] = new JsonObject(),
        ["transient"] = displayId is null ? new JsonObject() : new JsonObject { ["display_id"] = displayId },
    };

    public void Dispose()
    {
        flushTimer.Dispose();
        Flush();
    }
}
