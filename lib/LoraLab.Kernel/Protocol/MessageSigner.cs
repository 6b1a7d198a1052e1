using System.Security.Cryptography;
using System.Text;

namespace LoraLab.Kernel.Protocol;

/// <summary>
/// Jupyter's message authentication: HMAC-SHA256, keyed by the connection file's key, over the four JSON frames
/// (header, parent_header, metadata, content), written as lowercase hex. An empty key disables signing.
/// </summary>
public sealed class MessageSigner(string key)
{
    readonly byte[] keyBytes = Encoding.UTF8.GetBytes(key);

    public bool Enabled => keyBytes.Length > 0;

    public string Sign(IReadOnlyList<byte[]> parts)
    {
        if (!Enabled) return "";
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, keyBytes);
        foreach (var part in parts) hmac.AppendData(part);
        return Convert.ToHexStringLower(hmac.GetHashAndReset());
    }

    /// <summary>Compares in constant time, so the time a rejection takes tells an attacker nothing about the key.</summary>
    public bool Verify(string signature, IReadOnlyList<byte[]> parts)
    {
        if (!Enabled) return true;
        var expected = Encoding.ASCII.GetBytes(Sign(parts));
        var given = Encoding.ASCII.GetBytes(signature);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }
}
