using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Data.Sweeps;

/// <summary>
/// Turns any serializable configuration (a record, an anonymous object, a dictionary) into canonical JSON —
/// object keys sorted, no whitespace — so that equal configurations give equal text and hence equal hashes,
/// whatever the order in which properties were declared or a dictionary was filled. Enums are written as their
/// names (<c>"InitA_Gaussian"</c>, not 1), so a stored configuration reads the same in SQLite, CSV and here.
/// </summary>
public static class CanonicalJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    public static string Serialize<T>(T value)
    {
        JsonNode? node = JsonSerializer.SerializeToNode(value, Options);
        return Sorted(node)?.ToJsonString() ?? "null";
    }

    /// <summary>Reads a stored configuration back into its type (the inverse of <see cref="Serialize{T}"/>).</summary>
    public static T Deserialize<T>(string canonicalJson) =>
        JsonSerializer.Deserialize<T>(canonicalJson, Options)
        ?? throw new JsonException($"the stored configuration '{canonicalJson}' is null, not a {typeof(T).Name}");

    /// <summary>Short SHA-256 of the canonical JSON: the configuration's identity in the results store.</summary>
    public static string Hash(string canonicalJson) => StableHash.Short(canonicalJson);

    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray array => new JsonArray(array.Select(Sorted).ToArray()),
        null => null,
        _ => node.DeepClone(),
    };
}
