using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Kernel.Protocol;

/// <summary>
/// Jupyter's multipart wire format:
/// [identities..., "&lt;IDS|MSG&gt;", signature, header, parent_header, metadata, content, buffers...].
/// </summary>
public sealed class WireFormat(MessageSigner signer)
{
    static readonly byte[] Delimiter = "<IDS|MSG>"u8.ToArray();

    public List<byte[]> Serialize(JupyterMessage message)
    {
        var parts = new[] { message.Header, message.ParentHeader, message.Metadata, message.Content }
            .Select(json => Encoding.UTF8.GetBytes(json.ToJsonString())).ToList();
        var frames = new List<byte[]>(message.Identities) { Delimiter, Encoding.ASCII.GetBytes(signer.Sign(parts)) };
        frames.AddRange(parts);
        frames.AddRange(message.Buffers);
        return frames;
    }

    /// <summary>The message, or null with the reason when the frames are malformed or the signature is wrong.</summary>
    public JupyterMessage? Deserialize(IReadOnlyList<byte[]> frames, out string? rejection)
    {
        var delimiter = -1;
        for (var i = 0; i < frames.Count; i++)
            if (frames[i].AsSpan().SequenceEqual(Delimiter)) { delimiter = i; break; }
        if (delimiter < 0 || frames.Count < delimiter + 6)
        {
            rejection = "not a Jupyter message (no <IDS|MSG> delimiter followed by five frames)";
            return null;
        }
        var parts = frames.Skip(delimiter + 2).Take(4).ToList();
        if (!signer.Verify(Encoding.ASCII.GetString(frames[delimiter + 1]), parts))
        {
            rejection = "bad signature";
            return null;
        }
        try
        {
            var json = parts.Select(part => JsonNode.Parse(part) as JsonObject ?? throw new JsonException("a frame is not a JSON object")).ToList();
            rejection = null;
            return new JupyterMessage(frames.Take(delimiter).ToList(), json[0], json[1], json[2], json[3], frames.Skip(delimiter + 6).ToList());
        }
        catch (JsonException error)
        {
            rejection = $"malformed JSON ({error.Message})";
            return null;
        }
    }
}
