using System.Security.Cryptography;
using System.Text;

namespace LoraLab.Data;

/// <summary>
/// Hashes that are identical on every machine and every run.
/// string.GetHashCode is randomized per process, so anything that names a file, a cache or a
/// database row must go through here instead.
/// </summary>
public static class StableHash
{
    /// <summary>Lower-case hex SHA-256 of the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static string Sha256Hex(string text) => Sha256Hex(Encoding.UTF8.GetBytes(text));

    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>A short hex prefix of the SHA-256: enough to tell configurations apart, short enough to read.</summary>
    public static string Short(string text, int hexChars = 16) => Sha256Hex(text)[..hexChars];

    /// <summary>A 64-bit number derived from the text, for deterministic shuffles and partitions.</summary>
    public static ulong UInt64(string text)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return BitConverter.ToUInt64(digest[..8]);
    }

    /// <summary>Hash of a sequence of strings; each is length-prefixed so ("ab","c") differs from ("a","bc").</summary>
    public static string OfStrings(IEnumerable<string> parts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        foreach (string part in parts)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(part);
            BitConverter.TryWriteBytes(length, (long)bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
