using System.Text;
using System.Text.Json.Nodes;
using LoraLab.Kernel.Protocol;

namespace LoraLab.Kernel.Tests;

public sealed class WireFormatTests
{
    readonly WireFormat wire = new(new MessageSigner("secret-key"));

    static JupyterMessage Message() => JupyterMessage.Create("execute_request", new JsonObject { ["code"] = "1 + 1" }, null, "session-1", ["id-1"u8.ToArray()]);

    [Fact]
    public void The_signature_is_hmac_sha256_of_the_four_json_frames_in_hex()
    {
        // RFC 4231 test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?").
        var signature = new MessageSigner("Jefe").Sign([Encoding.ASCII.GetBytes("what do ya want "), Encoding.ASCII.GetBytes("for nothing?")]);
        Assert.Equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", signature);
    }

    [Fact]
    public void A_message_round_trips_through_the_wire_format()
    {
        var frames = wire.Serialize(Message());
        Assert.Equal("<IDS|MSG>", Encoding.ASCII.GetString(frames[1]));

        var parsed = wire.Deserialize(frames, out var rejection);

        Assert.Null(rejection);
        Assert.Equal("execute_request", parsed!.MessageType);
        Assert.Equal("1 + 1", (string?)parsed.Content["code"]);
        Assert.Equal("id-1"u8.ToArray(), Assert.Single(parsed.Identities));
        Assert.Equal("5.3", (string?)parsed.Header["version"]);
    }

    [Fact]
    public void A_tampered_content_or_a_wrong_key_is_rejected()
    {
        var frames = wire.Serialize(Message());
        var tampered = frames.ToList();
        tampered[^1] = Encoding.UTF8.GetBytes("{\"code\":\"rm -rf\"}");
        Assert.Null(wire.Deserialize(tampered, out var rejection));
        Assert.Equal("bad signature", rejection);

        var forged = new WireFormat(new MessageSigner("another-key")).Serialize(Message());
        Assert.Null(wire.Deserialize(forged, out _));
    }

    [Fact]
    public void Frames_without_a_delimiter_are_rejected_not_thrown()
    {
        Assert.Null(wire.Deserialize(["garbage"u8.ToArray()], out var rejection));
        Assert.Contains("delimiter", rejection);
    }

    [Fact]
    public void Cursor_positions_convert_between_code_points_and_utf16()
    {
        var text = "a😀b"; // the emoji is two UTF-16 units, one code point
        Assert.Equal(3, CodePoints.ToUtf16Index(text, 2));
        Assert.Equal(2, CodePoints.FromUtf16Index(text, 3));
    }

    [Fact]
    public void A_connection_file_with_a_missing_port_is_refused_naming_the_field()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, """{"ip": "127.0.0.1", "key": "k", "shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4}""");
        try
        {
            var error = Assert.Throws<KernelStartupException>(() => ConnectionInfo.Load(path));
            Assert.Contains("hb_port", error.Message);
            Assert.Contains(path, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
