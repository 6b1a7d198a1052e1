using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

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
            byte[] bytes = TensorBytes.Of(t);
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

    /// <summary>The reference implementation's limit: a larger header is not a checkpoint but a corrupt or hostile file.</summary>
    public const int MaxHeaderBytes = 100_000_000;

    private sealed record Entry(string name, ScalarType dtype, long[] shape, long begin, long end);

    /// <summary>Reads every tensor (new CPU tensors, owned by the caller) and the metadata. A file that breaks the
    /// format in any way is rejected with an InvalidDataException naming the file, the tensor and the problem.</summary>
    public static (Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata) LoadWithMetadata(string path)
    {
        string where = $"safetensors file '{path}'";
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = file.Length;
        if (fileLength < 8) throw new InvalidDataException($"{where} is {fileLength} bytes long, shorter than its 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(ReadExactly(file, where, 8, "the header length"));
        if (n > MaxHeaderBytes)
            throw new InvalidDataException($"{where}: header length {n} is over the format's limit of {MaxHeaderBytes} bytes (corrupt, or not safetensors)");
        if (n < 2 || n > (ulong)(fileLength - 8))
            throw new InvalidDataException($"{where}: header length {n} does not fit in a file of {fileLength} bytes (truncated or not safetensors)");
        var (entries, metadata) = ParseHeader(where, ReadExactly(file, where, (int)n, "the header"));

        long dataStart = 8 + (long)n, dataLength = fileLength - dataStart;
        CheckOffsetsTileTheData(where, entries, dataLength);

        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var e in entries.OrderBy(e => e.begin))
            {
                long size = e.end - e.begin;
                if (size > Array.MaxLength)
                    throw new InvalidDataException($"{where}: tensor '{e.name}' holds {size} bytes, more than LoraLab reads into one tensor ({Array.MaxLength} bytes)");
                file.Position = dataStart + e.begin;
                byte[] bytes = ReadExactly(file, where, (int)size, $"tensor '{e.name}'");
                // libtorch assumes a bool is 0 or 1; any other byte gives results that depend on the kernel.
                if (e.dtype == ScalarType.Bool && bytes.AsSpan().IndexOfAnyExcept((byte)0, (byte)1) is var bad and >= 0)
                    throw new InvalidDataException($"{where}: BOOL tensor '{e.name}' holds the byte {bytes[bad]} at element {bad} (only 0 and 1 are booleans)");
                tensors[e.name] = TensorBytes.ToTensor(bytes, e.shape, e.dtype).DetachFromDisposeScope();
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, metadata);
    }

    public static Dictionary<string, Tensor> Load(string path) => LoadWithMetadata(path).tensors;

    private static byte[] ReadExactly(Stream stream, string where, int count, string what)
    {
        var buffer = new byte[count];
        try { stream.ReadExactly(buffer); }
        catch (EndOfStreamException) { throw new InvalidDataException($"{where}: the file ended while reading {what} (truncated while being read?)"); }
        return buffer;
    }

    // The header must be strict UTF-8 JSON (as the reference reader requires): a lenient decoder would turn
    // bad bytes into U+FFFD and load a tensor under a name nobody wrote.
    private static (List<Entry>, Dictionary<string, string>) ParseHeader(string where, byte[] bytes)
    {
        string text;
        try { text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException e)
        { throw new InvalidDataException($"{where}: the header is not valid UTF-8 (byte 0x{e.BytesUnknown?.FirstOrDefault():X2} at offset {8 + e.Index})"); }

        JsonDocument document;
        try { document = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new InvalidDataException($"{where}: the header is not a JSON object ({e.Message})"); }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{where}: the header is not a JSON object but {document.RootElement.ValueKind}");
            var metadata = new Dictionary<string, string>();
            var entries = new List<Entry>();
            foreach (var (name, node) in Properties(document.RootElement, where, "the header"))
            {
                if (name == "__metadata__") metadata = ParseMetadata(where, node);
                else entries.Add(ParseEntry(where, name, node));
            }
            return (entries, metadata);
        }
    }

    /// <summary>An object's properties in order; a repeated name is an error (JSON leaves it undefined).</summary>
    private static List<(string name, JsonElement value)> Properties(JsonElement obj, string where, string what)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var properties = new List<(string, JsonElement)>();
        foreach (var p in obj.EnumerateObject())
        {
            if (!seen.Add(p.Name)) throw new InvalidDataException($"{where}: {what} names '{p.Name}' twice");
            properties.Add((p.Name, p.Value));
        }
        return properties;
    }

    private static Dictionary<string, string> ParseMetadata(string where, JsonElement node)
    {
        if (node.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: __metadata__ is not an object");
        var metadata = new Dictionary<string, string>();
        foreach (var (k, v) in Properties(node, where, "__metadata__"))
            metadata[k] = v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new InvalidDataException($"{where}: metadata '{k}' is not a string");
        return metadata;
    }

    private static Entry ParseEntry(string where, string name, JsonElement node)
    {
        string tensor = $"{where}: tensor '{name}'";
        if (node.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{tensor} is described by {node.ValueKind}, not an object");
        var fields = Properties(node, where, $"tensor '{name}'").ToDictionary(p => p.name, p => p.value);
        JsonElement Field(string field) => fields.TryGetValue(field, out var v) ? v : throw new InvalidDataException($"{tensor} has no '{field}'");

        var dtypeNode = Field("dtype");
        string dtypeName = dtypeNode.ValueKind == JsonValueKind.String ? dtypeNode.GetString()! : throw new InvalidDataException($"{tensor}: dtype is not a string");
        if (!Dtypes.TryGetValue(dtypeName, out var dtype))
            throw new InvalidDataException($"{tensor} has unknown dtype '{dtypeName}' (known: {string.Join(", ", Dtypes.Keys)})");
        long[] shape = Integers(tensor, "shape", Field("shape"));
        long[] offsets = Integers(tensor, "data_offsets", Field("data_offsets"));
        if (offsets.Length != 2) throw new InvalidDataException($"{tensor} needs data_offsets [begin, end], got {offsets.Length} numbers");
        long begin = offsets[0], end = offsets[1];
        if (end < begin) throw new InvalidDataException($"{tensor} has invalid data_offsets [{begin}, {end}] (end before begin)");

        long bytes;
        try { bytes = checked(shape.Aggregate(1L, (a, d) => a * d) * TensorBytes.ElementSize(dtype)); }
        catch (OverflowException)
        { throw new InvalidDataException($"{tensor} of shape {ShapeText(shape)} and dtype {dtypeName} holds more bytes than a 64-bit size can count"); }
        if (bytes != end - begin)
            throw new InvalidDataException($"{tensor} of shape {ShapeText(shape)} and dtype {dtypeName} needs {bytes} bytes, its offsets span {end - begin}");
        return new Entry(name, dtype, shape, begin, end);
    }

    private static string ShapeText(long[] shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>An array of non-negative integers (a shape or offsets).</summary>
    private static long[] Integers(string tensor, string field, JsonElement node)
    {
        if (node.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{tensor}: {field} is not an array");
        var values = new long[node.GetArrayLength()];
        int i = 0;
        foreach (var item in node.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long v))
                throw new InvalidDataException($"{tensor}: {field} holds {item.GetRawText()}, not a 64-bit integer");
            if (v < 0) throw new InvalidDataException($"{tensor}: {field} holds the negative number {v}");
            values[i++] = v;
        }
        return values;
    }

    /// <summary>Offsets must tile the data section exactly: sorted, contiguous, non-overlapping, to the end.</summary>
    private static void CheckOffsetsTileTheData(string where, List<Entry> entries, long dataLength)
    {
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
    }
}
