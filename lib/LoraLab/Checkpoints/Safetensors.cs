using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Torch;

namespace LoraLab.Checkpoints;

/// <summary>
/// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
/// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}},
/// then the raw little-endian tensor bytes; offsets are relative to the end of the header.
/// Reading validates everything and rejects a corrupt file with an InvalidDataException.
/// </summary>
public static class Safetensors
{
    private static readonly Dictionary<string, ScalarType> Dtypes = new()
    {
        ["F32"] = ScalarType.Float32, ["F64"] = ScalarType.Float64, ["BF16"] = ScalarType.BFloat16, ["F16"] = ScalarType.Float16,
        ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32, ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    public static string DtypeName(ScalarType t) =>
        Dtypes.FirstOrDefault(kv => kv.Value == t).Key ?? throw new ArgumentException($"safetensors has no name for {t}");

    /// <summary>Writes tensors (sorted by name) with optional string metadata.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var name in tensors.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved and cannot name a tensor");
            var t = tensors[name];
            byte[] bytes = t.ToBytes();
            header[name] = new JsonObject
            {
                ["dtype"] = DtypeName(t.dtype),
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            blobs.Add(bytes);
            offset += bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;    // the data starts 8-byte aligned (space padding, as the reference writer)
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        file.Write(length);
        file.Write(json);
        for (int i = json.Length; i < padded; i++) file.WriteByte((byte)' ');
        foreach (var b in blobs) file.Write(b);
    }

    /// <summary>Reads every tensor (new CPU tensors, owned by the caller) and the metadata.</summary>
    public static (Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata) LoadWithMetadata(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        string where = $"safetensors file '{path}'";
        if (file.Length < 8) throw new InvalidDataException($"{where} is {file.Length} bytes long, shorter than its 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (n < 2 || n > (ulong)(file.Length - 8))
            throw new InvalidDataException($"{where}: header length {n} does not fit in a file of {file.Length} bytes (truncated or not safetensors)");
        JsonObject header;
        try { header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, (int)n))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        { throw new InvalidDataException($"{where}: the header is not a JSON object ({e.Message})"); }

        long dataStart = 8 + (long)n, dataLength = file.Length - dataStart;
        var metadata = new Dictionary<string, string>();
        var entries = new List<(string name, ScalarType dtype, long[] shape, long begin, long end)>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is not JsonObject meta) throw new InvalidDataException($"{where}: __metadata__ is not an object");
                foreach (var (k, v) in meta)
                    metadata[k] = v is JsonValue value && value.TryGetValue(out string? s) ? s : throw new InvalidDataException($"{where}: metadata '{k}' is not a string");
                continue;
            }
            entries.Add(ParseEntry(where, name, node));
        }
        // Offsets must tile the data section exactly: sorted, contiguous, non-overlapping, to the end.
        long expected = 0;
        foreach (var e in entries.OrderBy(e => e.begin).ThenBy(e => e.end))
        {
            if (e.begin != expected)
                throw new InvalidDataException($"{where}: tensor '{e.name}' starts at {e.begin}, expected {expected} (offsets overlap or leave a gap)");
            if (e.end > dataLength)
                throw new InvalidDataException($"{where}: tensor '{e.name}' ends at {e.end}, past the {dataLength} data bytes (offsets out of range or file truncated)");
            expected = e.end;
        }
        if (expected != dataLength)
            throw new InvalidDataException($"{where}: the tensors cover {expected} bytes but the data section holds {dataLength}");

        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var e in entries)
                tensors[e.name] = torch.frombuffer(file.AsSpan((int)(dataStart + e.begin), (int)(e.end - e.begin)), e.shape, e.dtype).DetachFromDisposeScope();
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, metadata);
    }

    public static Dictionary<string, Tensor> Load(string path) => LoadWithMetadata(path).tensors;

    private static (string, ScalarType, long[], long, long) ParseEntry(string where, string name, JsonNode? node)
    {
        try
        {
            var o = node!.AsObject();
            string dtypeName = o["dtype"]!.GetValue<string>();
            if (!Dtypes.TryGetValue(dtypeName, out var dtype))
                throw new InvalidDataException($"{where}: tensor '{name}' has unknown dtype '{dtypeName}' (known: {string.Join(", ", Dtypes.Keys)})");
            long[] shape = o["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var offsets = o["data_offsets"]!.AsArray();
            if (offsets.Count != 2) throw new InvalidDataException($"{where}: tensor '{name}' needs data_offsets [begin, end]");
            long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
            if (shape.Any(d => d < 0)) throw new InvalidDataException($"{where}: tensor '{name}' has a negative dimension");
            if (begin < 0 || end < begin) throw new InvalidDataException($"{where}: tensor '{name}' has invalid data_offsets [{begin}, {end}]");
            long bytes = shape.Aggregate(1L, (a, d) => checked(a * d)) * dtype.ElementSize();
            if (bytes != end - begin)
                throw new InvalidDataException($"{where}: tensor '{name}' of shape [{string.Join(", ", shape)}] and dtype {dtypeName} needs {bytes} bytes, its offsets span {end - begin}");
            return (name, dtype, shape, begin, end);
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"{where}: malformed header entry for tensor '{name}' ({e.Message})");
        }
    }
}
