using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LoraLab.Kernel;

/// <summary>
/// The inputs (and plain-text outputs) of the cells this kernel process ran with store_history, numbered by execution
/// count: what history_request's tail, range and search read. Only this session: nothing is kept on disk.
/// </summary>
sealed class CellHistory(string session)
{
    readonly List<(int Line, string Input, string? Output)> entries = [];
    readonly Lock gate = new();

    public void Add(int line, string input, string? output)
    {
        lock (gate) entries.Add((line, input, output));
    }

    public JsonArray Query(JsonObject request)
    {
        var output = (bool?)request["output"] ?? false;
        var n = (int?)request["n"];
        List<(int Line, string Input, string? Output)> selected;
        lock (gate) selected = entries.ToList();
        selected = ((string?)request["hist_access_type"]) switch
        {
            "tail" => n is { } count ? selected.TakeLast(count).ToList() : selected,
            "range" => selected.Where(e => e.Line >= ((int?)request["start"] ?? 0) && ((int?)request["stop"] is not { } stop || e.Line < stop)).ToList(),
            "search" => Search(selected, (string?)request["pattern"] ?? "*", (bool?)request["unique"] ?? false, n),
            _ => [],
        };
        return new JsonArray(selected.Select(entry => (JsonNode?)new JsonArray(
            session, entry.Line, output ? new JsonArray(entry.Input, entry.Output) : JsonValue.Create(entry.Input))).ToArray());
    }

    // The pattern is a glob ('*' any text, '?' one character) matched against the whole input, as in IPython.
    static List<(int Line, string Input, string? Output)> Search(List<(int Line, string Input, string? Output)> entries, string pattern, bool unique, int? n)
    {
        var glob = new Regex("^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.Singleline);
        var found = entries.Where(entry => glob.IsMatch(entry.Input));
        if (unique) found = found.Reverse().DistinctBy(entry => entry.Input).Reverse();
        var list = found.ToList();
        return n is { } count ? list.TakeLast(count).ToList() : list;
    }
}
