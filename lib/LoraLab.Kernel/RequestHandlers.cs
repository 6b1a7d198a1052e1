using System.Reflection;
using System.Text.Json.Nodes;
using LoraLab.Kernel.Protocol;
using LoraLab.Notebooks.Engine;

namespace LoraLab.Kernel;

/// <summary>The replies to the requests that need no running cell: kernel_info, complete, inspect, is_complete, ...</summary>
static class RequestHandlers
{
    public static JsonObject LanguageInfo() => new()
    {
        ["name"] = "C#",
        ["version"] = "latest",
        ["mimetype"] = "text/x-csharp",
        ["file_extension"] = ".cs",
        ["pygments_lexer"] = "csharp",
        ["codemirror_mode"] = "text/x-csharp",
    };

    public static JsonObject KernelInfo() => new()
    {
        ["status"] = "ok",
        ["protocol_version"] = JupyterMessage.ProtocolVersion,
        ["implementation"] = "loralab-csharp",
        ["implementation_version"] = typeof(RequestHandlers).Assembly.GetName().Version?.ToString() ?? "0",
        ["language_info"] = LanguageInfo(),
        ["banner"] = $"C# (LoraLab): Roslyn scripting on .NET {Environment.Version}. display(x) shows a value; display(x).Update(y) replaces it.",
        ["help_links"] = new JsonArray(),
        ["debugger"] = false,
    };

    public static JsonObject Complete(CSharpKernel engine, JsonObject request)
    {
        var code = (string?)request["code"] ?? "";
        var cursor = CodePoints.ToUtf16Index(code, (int?)request["cursor_pos"] ?? code.Length);
        var completion = engine.Complete(code, cursor);
        return new JsonObject
        {
            ["status"] = "ok",
            ["matches"] = new JsonArray(completion.Matches.Select(match => (JsonNode?)match).ToArray()),
            ["cursor_start"] = CodePoints.FromUtf16Index(code, completion.Start),
            ["cursor_end"] = CodePoints.FromUtf16Index(code, completion.End),
            ["metadata"] = new JsonObject(),
        };
    }

    public static JsonObject Inspect(CSharpKernel engine, JsonObject request)
    {
        var code = (string?)request["code"] ?? "";
        var cursor = CodePoints.ToUtf16Index(code, (int?)request["cursor_pos"] ?? code.Length);
        var description = engine.Inspect(code, cursor);
        return new JsonObject
        {
            ["status"] = "ok",
            ["found"] = description is not null,
            ["data"] = description is null ? new JsonObject() : new JsonObject { ["text/plain"] = description },
            ["metadata"] = new JsonObject(),
        };
    }

    public static JsonObject IsComplete(JsonObject request)
    {
        var status = CSharpKernel.IsComplete((string?)request["code"] ?? "");
        var reply = new JsonObject { ["status"] = status.ToString().ToLowerInvariant() };
        if (status == SubmissionStatus.Incomplete) reply["indent"] = "    ";
        return reply;
    }

    public static JsonObject History(CellHistory history, JsonObject request) =>
        new() { ["status"] = "ok", ["history"] = history.Query(request) };

    // LoraLab registers no comm targets (no widgets), so there are never open comms.
    public static JsonObject CommInfo() => new() { ["status"] = "ok", ["comms"] = new JsonObject() };
}
