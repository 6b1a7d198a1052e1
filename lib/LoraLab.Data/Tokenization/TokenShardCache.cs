using System.Security.Cryptography;
using System.Text;

namespace LoraLab.Data.Tokenization;

/// <summary>A corpus encoded as one stream of token ids, each document followed by &lt;|endoftext|&gt;.</summary>
public sealed record TokenShard(string Path, string Key, int[] Tokens, int DocumentCount);

/// <summary>
/// Encodes a corpus once and keeps the ids in a binary file under <c>data/cache/</c>, so the hundreds of
/// trainings of a sweep don't each re-tokenize megabytes of text.
///
/// The file name carries a key hashed from everything the ids depend on — the documents' text, the
/// tokenizer's hash and <see cref="FormatVersion"/> — so a changed corpus or tokenizer can never be
/// served stale ids. The header repeats the key and stores the token count and a SHA-256 of the payload;
/// a truncated or corrupted file fails those checks and is rebuilt (with a message) instead of trusted.
/// Files are written to a temporary name and renamed, so a process killed mid-write leaves no half file.
///
/// Layout (little-endian): "LLTOKENS" | int32 version | int32 bytes per token (2 if the vocabulary fits
/// a ushort, else 4) | int64 token count | int32 document count | 32-byte key | 32-byte payload SHA-256 | payload.
/// </summary>
public static class TokenShardCache
{
    /// <summary>Bump when the layout or the way documents are joined changes; old files then miss the cache.</summary>
    public const int FormatVersion = 1;
    private static readonly byte[] Magic = "LLTOKENS"u8.ToArray();
    private const int HeaderSize = 8 + 4 + 4 + 8 + 4 + 32 + 32;

    /// <summary><c>data/cache</c> of the repository.</summary>
    public static string DefaultDirectory() => System.IO.Path.Combine(DataRoot.RepositoryRoot(), "data", "cache");

    /// <summary>The hex key (SHA-256) naming the shard for these documents and tokenizer.</summary>
    public static string Key(IReadOnlyList<string> documents, BpeTokenizer tokenizer) =>
        StableHash.OfStrings(new[] { "token-shard", FormatVersion.ToString(), tokenizer.Hash }.Concat(documents));

    public static string FilePath(string cacheDirectory, string name, string key) =>
        System.IO.Path.Combine(cacheDirectory, $"{name}-{key[..16]}.tokens");

    /// <summary>
    /// Returns the cached shard if its file is intact, otherwise encodes the documents and writes it.
    /// <paramref name="log"/> receives a line whenever something is (re)built; default: standard error.
    /// </summary>
    public static TokenShard LoadOrBuild(string cacheDirectory, string name, IReadOnlyList<string> documents, BpeTokenizer tokenizer, Action<string>? log = null)
    {
        log ??= Console.Error.WriteLine;
        string key = Key(documents, tokenizer);
        string path = FilePath(cacheDirectory, name, key);
        if (File.Exists(path))
        {
            string? problem = TryRead(path, key, out var cached);
            if (problem is null)
                return cached!;
            log($"Token cache '{path}' is unusable ({problem}); rebuilding it.");
        }
        else
        {
            log($"Token cache '{path}' not found; encoding {documents.Count} documents.");
        }

        var shard = Build(path, key, documents, tokenizer);
        Write(shard, tokenizer.VocabularySize <= ushort.MaxValue + 1 ? 2 : 4);
        return shard;
    }

    private static TokenShard Build(string path, string key, IReadOnlyList<string> documents, BpeTokenizer tokenizer)
    {
        int[][] encoded = tokenizer.EncodeMany(documents);
        var tokens = new int[encoded.Sum(e => e.Length + 1)];
        int at = 0, endOfText = tokenizer.EndOfTextId;
        foreach (int[] document in encoded)
        {
            document.CopyTo(tokens, at);
            at += document.Length;
            tokens[at++] = endOfText;
        }
        return new TokenShard(path, key, tokens, documents.Count);
    }

    private static void Write(TokenShard shard, int bytesPerToken)
    {
        byte[] payload = new byte[(long)shard.Tokens.Length * bytesPerToken];
        for (int i = 0; i < shard.Tokens.Length; i++)
        {
            if (bytesPerToken == 2) BitConverter.TryWriteBytes(payload.AsSpan(i * 2), (ushort)shard.Tokens[i]);
            else BitConverter.TryWriteBytes(payload.AsSpan(i * 4), shard.Tokens[i]);
        }
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(shard.Path)!);
        string temporary = shard.Path + $".{Environment.ProcessId}.tmp";
        using (var stream = File.Create(temporary))
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(bytesPerToken);
            writer.Write((long)shard.Tokens.Length);
            writer.Write(shard.DocumentCount);
            writer.Write(Convert.FromHexString(shard.Key));
            writer.Write(SHA256.HashData(payload));
            writer.Write(payload);
        }
        File.Move(temporary, shard.Path, overwrite: true);
    }

    /// <summary>Reads and verifies a shard file; returns null on success or a description of what is wrong.</summary>
    private static string? TryRead(string path, string key, out TokenShard? shard)
    {
        shard = null;
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < HeaderSize || !file.AsSpan(0, 8).SequenceEqual(Magic))
            return "missing or damaged header";
        int version = BitConverter.ToInt32(file, 8);
        int bytesPerToken = BitConverter.ToInt32(file, 12);
        long count = BitConverter.ToInt64(file, 16);
        int documentCount = BitConverter.ToInt32(file, 24);
        if (version != FormatVersion)
            return $"format version {version}, expected {FormatVersion}";
        if (bytesPerToken is not (2 or 4) || count < 0)
            return "damaged header";
        if (!file.AsSpan(28, 32).SequenceEqual(Convert.FromHexString(key)))
            return "key in header does not match its inputs";
        long expectedLength = HeaderSize + count * bytesPerToken;
        if (file.Length != expectedLength)
            return $"size {file.Length} bytes, expected {expectedLength} (truncated or overwritten)";
        var payload = file.AsSpan(HeaderSize);
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(file.AsSpan(60, 32)))
            return "payload checksum mismatch (corrupted)";

        var tokens = new int[count];
        for (int i = 0; i < count; i++)
            tokens[i] = bytesPerToken == 2 ? BitConverter.ToUInt16(payload[(i * 2)..]) : BitConverter.ToInt32(payload[(i * 4)..]);
        shard = new TokenShard(path, key, tokens, documentCount);
        return null;
    }
}
