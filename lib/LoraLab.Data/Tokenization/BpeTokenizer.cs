using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Data.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer. Token ids 0..255 are the raw bytes, so ANY string can be encoded
/// (text is UTF-8 encoded first) and decoding returns it exactly. Ids 256.. are learned merges, in the
/// order they were learned; the special tokens come last. Train one with <see cref="BpeTrainer"/>.
/// </summary>
public sealed class BpeTokenizer
{
    public const string EndOfText = "<|endoftext|>";
    public const string Pad = "<|pad|>";
    private const string FormatName = "loralab-byte-bpe";
    private const int FormatVersion = 1;

    private readonly (int Left, int Right)[] _merges;
    private readonly Dictionary<long, int> _mergeRank = new();   // (left,right) → index of the merge
    private readonly byte[][] _tokenBytes;                        // byte expansion of every non-special id
    private readonly string[] _specialTokens;
    private readonly PreTokenizer _preTokenizer;
    // Words repeat constantly in real text; caching each piece's ids makes encoding ~10x faster.
    // One cache per thread so parallel encoding needs no locks.
    private readonly ThreadLocal<Dictionary<string, int[]>> _cache = new(() => new Dictionary<string, int[]>());
    private const int MaxCacheEntries = 200_000;

    public BpeTokenizer(IReadOnlyList<(int Left, int Right)> merges, IReadOnlyList<string> specialTokens, string pattern = PreTokenizer.DefaultPattern)
    {
        _merges = merges.ToArray();
        _specialTokens = specialTokens.ToArray();
        _preTokenizer = new PreTokenizer(pattern);
        _tokenBytes = new byte[256 + _merges.Length][];
        for (int b = 0; b < 256; b++)
            _tokenBytes[b] = [(byte)b];
        for (int i = 0; i < _merges.Length; i++)
        {
            var (left, right) = _merges[i];
            if (left >= 256 + i || right >= 256 + i || left < 0 || right < 0)
                throw new InvalidDataException($"Merge {i} refers to token {Math.Max(left, right)}, which is not defined before it.");
            _tokenBytes[256 + i] = [.. _tokenBytes[left], .. _tokenBytes[right]];
            _mergeRank[PairKey(left, right)] = i;
        }
        Hash = StableHash.Sha256Hex(ToJson());
    }

    /// <summary>Number of ids: 256 bytes + merges + special tokens.</summary>
    public int VocabularySize => 256 + _merges.Length + _specialTokens.Length;
    public int MergeCount => _merges.Length;
    public IReadOnlyList<string> SpecialTokens => _specialTokens;
    public string Pattern => _preTokenizer.Pattern;

    /// <summary>SHA-256 of the JSON form: identifies the tokenizer in token-cache names.</summary>
    public string Hash { get; }

    public int SpecialTokenId(string token)
    {
        int index = Array.IndexOf(_specialTokens, token);
        if (index < 0) throw new KeyNotFoundException($"'{token}' is not a special token of this tokenizer.");
        return 256 + _merges.Length + index;
    }

    public int EndOfTextId => SpecialTokenId(EndOfText);
    public int PadId => SpecialTokenId(Pad);

    /// <summary>The bytes a (non-special) token stands for; handy for inspecting what was learned.</summary>
    public ReadOnlySpan<byte> TokenBytes(int id) => _tokenBytes[id];

    /// <summary>
    /// Encodes text literally: a special-token string such as "&lt;|endoftext|&gt;" inside the text is
    /// encoded as ordinary bytes, never as the special id, so user text cannot forge document boundaries.
    /// </summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        EncodeInto(text, ids);
        return ids.ToArray();
    }

    public void EncodeInto(string text, List<int> output)
    {
        var cache = _cache.Value!;
        if (cache.Count > MaxCacheEntries) cache.Clear();
        var lookup = cache.GetAlternateLookup<ReadOnlySpan<char>>();
        _preTokenizer.ForEachPiece(text, piece =>
        {
            if (!lookup.TryGetValue(piece, out int[]? pieceIds))
            {
                pieceIds = EncodePiece(piece);
                lookup[piece] = pieceIds;
            }
            output.AddRange(pieceIds);
        });
    }

    /// <summary>Encodes documents in parallel, keeping their order.</summary>
    public int[][] EncodeMany(IReadOnlyList<string> texts)
    {
        var result = new int[texts.Count][];
        Parallel.For(0, texts.Count, i => result[i] = Encode(texts[i]));
        return result;
    }

    /// <summary>
    /// BPE on one piece: start from its UTF-8 bytes and repeatedly apply the earliest-learned merge
    /// present, exactly the order in which training created the merges.
    /// </summary>
    private int[] EncodePiece(ReadOnlySpan<char> piece)
    {
        var bytes = Encoding.UTF8.GetBytes(piece.ToArray());
        var symbols = new List<int>(bytes.Length);
        foreach (byte b in bytes) symbols.Add(b);
        while (symbols.Count > 1)
        {
            int bestRank = int.MaxValue, bestAt = -1;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (_mergeRank.TryGetValue(PairKey(symbols[i], symbols[i + 1]), out int rank) && rank < bestRank)
                    (bestRank, bestAt) = (rank, i);
            if (bestAt < 0) break;
            var (left, right) = _merges[bestRank];
            for (int i = bestAt; i + 1 < symbols.Count; i++)
                if (symbols[i] == left && symbols[i + 1] == right)
                {
                    symbols[i] = 256 + bestRank;
                    symbols.RemoveAt(i + 1);
                }
        }
        return symbols.ToArray();
    }

    /// <summary>Ids back to text. Special ids become their strings; bytes are decoded as UTF-8.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var text = new StringBuilder();
        var pending = new List<byte>(ids.Length * 4);
        int firstSpecial = 256 + _merges.Length;
        foreach (int id in ids)
        {
            if (id < 0 || id >= VocabularySize)
                throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {id} is outside the vocabulary (size {VocabularySize}).");
            if (id < firstSpecial)
            {
                pending.AddRange(_tokenBytes[id]);
                continue;
            }
            text.Append(Encoding.UTF8.GetString(pending.ToArray()));
            pending.Clear();
            text.Append(_specialTokens[id - firstSpecial]);
        }
        text.Append(Encoding.UTF8.GetString(pending.ToArray()));
        return text.ToString();
    }

    internal static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    // ---- JSON ----

    /// <summary>The tokenizer as JSON: format, version, pre-tokenizer pattern, merges as [left, right] id pairs, special tokens.</summary>
    public string ToJson()
    {
        var merges = new JsonArray();
        foreach (var (left, right) in _merges)
            merges.Add(new JsonArray(left, right));
        var json = new JsonObject
        {
            ["format"] = FormatName,
            ["version"] = FormatVersion,
            ["pattern"] = Pattern,
            ["specialTokens"] = new JsonArray(_specialTokens.Select(s => (JsonNode)s).ToArray()),
            ["merges"] = merges,
        };
        return json.ToJsonString();
    }

    public static BpeTokenizer FromJson(string json)
    {
        var root = JsonNode.Parse(json)?.AsObject() ?? throw new InvalidDataException("Tokenizer JSON is empty.");
        if ((string?)root["format"] != FormatName || (int?)root["version"] != FormatVersion)
            throw new InvalidDataException($"Not a {FormatName} v{FormatVersion} tokenizer file.");
        var merges = root["merges"]!.AsArray().Select(m => ((int)m![0]!, (int)m![1]!)).ToList();
        var specials = root["specialTokens"]!.AsArray().Select(s => (string)s!).ToList();
        return new BpeTokenizer(merges, specials, (string)root["pattern"]!);
    }

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, ToJson());
    }

    public static BpeTokenizer Load(string path) => FromJson(File.ReadAllText(path));
}
