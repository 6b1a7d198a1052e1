using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Checkpoints;

/// <summary>
/// Typed fields of a JSON config file (config.json, adapter_config.json). Every error is an
/// InvalidDataException naming the file, the field and what is wrong with it, so a hand-edited or
/// foreign config fails with a message the user can act on instead of a NullReferenceException.
/// A field set to null counts as absent, as in transformers and PEFT.
/// </summary>
internal sealed class ConfigFields
{
    private readonly JsonObject json;

    /// <summary>The file (or other source) the fields came from, as the errors name it.</summary>
    public string Source { get; }

    private ConfigFields(JsonObject json, string source) { this.json = json; Source = source; }

    public static ConfigFields Read(string path) => Parse(File.ReadAllText(path), path);

    public static ConfigFields Parse(string text, string source)
    {
        try
        {
            if (JsonNode.Parse(text) is not JsonObject obj) throw new InvalidDataException($"{source}: the file is not a JSON object");
            _ = obj.Count;   // JsonObject checks for repeated names when it is first read: fail here, with the file's name
            return new ConfigFields(obj, source);
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{source}: not valid JSON ({e.Message})");
        }
    }

    public bool Has(string name) => json[name] is not null;

    public InvalidDataException Error(string name, string problem) => new($"{Source}: field '{name}' {problem}");

    public JsonNode? Node(string name) => json[name];

    public int Int(string name) => Has(name) ? ToInt(name, json[name]!) : throw Error(name, "is missing");

    public int Int(string name, int fallback) => Has(name) ? ToInt(name, json[name]!) : fallback;

    public long? OptionalLong(string name)
    {
        if (!Has(name)) return null;
        double v = Number(name);
        return v == Math.Floor(v) && Math.Abs(v) < 9e15 ? (long)v : throw Error(name, $"must be an integer, got {json[name]!.ToJsonString()}");
    }

    public double Double(string name) => Has(name) ? Number(name) : throw Error(name, "is missing");

    public double Double(string name, double fallback) => Has(name) ? Number(name) : fallback;

    public bool Bool(string name, bool fallback)
    {
        if (!Has(name)) return fallback;
        return Kind(name) switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"must be true or false, got {json[name]!.ToJsonString()}"),
        };
    }

    public string String(string name, string fallback)
    {
        if (!Has(name)) return fallback;
        return Kind(name) == JsonValueKind.String ? json[name]!.GetValue<string>() : throw Error(name, $"must be a string, got {json[name]!.ToJsonString()}");
    }

    /// <summary>A list of names given as a JSON array of strings or as one comma-separated string; "" when absent.</summary>
    public string NameList(string name)
    {
        if (!Has(name)) return "";
        if (json[name] is JsonArray array)
            return string.Join(",", array.Select(x => x is JsonValue v && v.GetValueKind() == JsonValueKind.String
                ? v.GetValue<string>()
                : throw Error(name, $"must hold only strings, got {x?.ToJsonString() ?? "null"}")));
        return String(name, "");
    }

    private JsonValueKind Kind(string name) => json[name]!.GetValueKind();

    private double Number(string name) =>
        Kind(name) == JsonValueKind.Number ? json[name]!.GetValue<double>() : throw Error(name, $"must be a number, got {json[name]!.ToJsonString()}");

    private int ToInt(string name, JsonNode node)
    {
        double v = Number(name);
        return v == Math.Floor(v) && v >= int.MinValue && v <= int.MaxValue ? (int)v : throw Error(name, $"must be an integer, got {node.ToJsonString()}");
    }
}
