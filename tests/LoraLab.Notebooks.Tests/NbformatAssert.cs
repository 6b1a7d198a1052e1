using System.Text.Json.Nodes;

namespace LoraLab.Notebooks.Tests;

/// <summary>Checks the parts of the nbformat 4 schema that tools reading our executed notebooks rely on.</summary>
static class NbformatAssert
{
    static readonly string[] OutputTypes = ["stream", "display_data", "execute_result", "error"];

    public static void Valid(JsonObject notebook)
    {
        Assert.Equal(4, (int)notebook["nbformat"]!);
        Assert.True((int)notebook["nbformat_minor"]! >= 0);
        Assert.IsType<JsonObject>(notebook["metadata"]);
        foreach (var cell in Assert.IsType<JsonArray>(notebook["cells"]).Select(c => Assert.IsType<JsonObject>(c)))
        {
            var type = (string?)cell["cell_type"];
            Assert.Contains(type, new[] { "code", "markdown", "raw" });
            Assert.IsType<JsonObject>(cell["metadata"]);
            MultilineString(cell["source"]);
            if (type != "code")
            {
                Assert.False(cell.ContainsKey("outputs"), "only code cells have outputs");
                continue;
            }
            Assert.True(cell.ContainsKey("execution_count"));
            Assert.True(cell["execution_count"] is null || (int)cell["execution_count"]! > 0);
            foreach (var output in Assert.IsType<JsonArray>(cell["outputs"]).Select(o => Assert.IsType<JsonObject>(o)))
                Output(output);
        }
    }

    static void Output(JsonObject output)
    {
        var type = (string?)output["output_type"];
        Assert.Contains(type, OutputTypes);
        switch (type)
        {
            case "stream":
                Assert.Contains((string?)output["name"], new[] { "stdout", "stderr" });
                MultilineString(output["text"]);
                break;
            case "display_data" or "execute_result":
                foreach (var (_, value) in Assert.IsType<JsonObject>(output["data"])) MultilineString(value);
                Assert.IsType<JsonObject>(output["metadata"]);
                if (type == "execute_result") Assert.True((int)output["execution_count"]! > 0);
                break;
            case "error":
                Assert.IsType<string>((string?)output["ename"]);
                Assert.IsType<string>((string?)output["evalue"]);
                Assert.All(Assert.IsType<JsonArray>(output["traceback"]), line => Assert.IsType<string>((string?)line));
                break;
        }
    }

    static void MultilineString(JsonNode? node)
    {
        if (node is JsonArray lines) Assert.All(lines, line => Assert.IsType<string>((string?)line));
        else Assert.IsType<string>((string?)node);
    }
}
