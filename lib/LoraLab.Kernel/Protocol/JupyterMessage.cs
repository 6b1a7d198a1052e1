using System.Globalization;
using System.Text.Json.Nodes;

namespace LoraLab.Kernel.Protocol;

/// <summary>
/// One Jupyter message: the routing identities it came with (ROUTER sockets), its header, the header of the request it
/// answers, metadata, content and binary buffers. See "Messaging in Jupyter", protocol version 5.3.
/// </summary>
public sealed record JupyterMessage(
    IReadOnlyList<byte[]> Identities, JsonObject Header, JsonObject ParentHeader, JsonObject Metadata, JsonObject Content,
    IReadOnlyList<byte[]> Buffers)
{
    public const string ProtocolVersion = "5.3";

    public string MessageType => (string?)Header["msg_type"] ?? "";
    public string Id => (string?)Header["msg_id"] ?? "";

    /// <summary>A new message of <paramref name="type"/> in reply to (or caused by) <paramref name="parent"/>.</summary>
    public static JupyterMessage Create(string type, JsonObject content, JupyterMessage? parent, string session, IReadOnlyList<byte[]>? identities = null) =>
        new(identities ?? parent?.Identities ?? [],
            NewHeader(type, session),
            parent is null ? new JsonObject() : (JsonObject)parent.Header.DeepClone(),
            new JsonObject(), content, []);

    public static JsonObject NewHeader(string type, string session) => new()
    {
        ["msg_id"] = Guid.NewGuid().ToString(),
        ["session"] = session,
        ["username"] = "kernel",
        ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        ["msg_type"] = type,
        ["version"] = ProtocolVersion,
    };
}
