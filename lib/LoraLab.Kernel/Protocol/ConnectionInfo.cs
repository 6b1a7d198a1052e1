using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Kernel.Protocol;

/// <summary>
/// A Jupyter connection file: where the five sockets bind and the key that signs messages. The client (VS Code,
/// jupyter_client) writes it and starts the kernel with its path (kernel.json's "{connection_file}").
/// </summary>
public sealed record ConnectionInfo(
    string Transport, string Ip, int ShellPort, int IopubPort, int StdinPort, int ControlPort, int HeartbeatPort,
    string Key, string SignatureScheme)
{
    public static ConnectionInfo Load(string path)
    {
        if (!File.Exists(path)) throw new KernelStartupException($"connection file {path}: not found");
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object");
        }
        catch (JsonException error)
        {
            throw new KernelStartupException($"connection file {path}: not valid JSON ({error.Message})");
        }

        string Text(string field, string? fallback = null) =>
            json[field]?.GetValueKind() == JsonValueKind.String ? json[field]!.GetValue<string>()
            : fallback ?? throw new KernelStartupException($"connection file {path}: field '{field}' is missing or not a string");
        int Port(string field) =>
            json[field]?.GetValueKind() == JsonValueKind.Number && json[field]!.GetValue<int>() is var port and >= 0 and <= 65535
                ? port : throw new KernelStartupException($"connection file {path}: field '{field}' is missing or not a port number");

        var scheme = Text("signature_scheme", "hmac-sha256");
        if (scheme != "hmac-sha256")
            throw new KernelStartupException($"connection file {path}: signature_scheme '{scheme}' is not supported (only hmac-sha256)");
        var transport = Text("transport", "tcp");
        if (transport is not ("tcp" or "ipc"))
            throw new KernelStartupException($"connection file {path}: transport '{transport}' is not tcp or ipc");
        return new ConnectionInfo(transport, Text("ip", "127.0.0.1"), Port("shell_port"), Port("iopub_port"), Port("stdin_port"),
            Port("control_port"), Port("hb_port"), Text("key", ""), scheme);
    }

    /// <summary>The ZeroMQ endpoint of a port: tcp://ip:port, or for ipc the file "ip-port" as jupyter_client names it.</summary>
    public string Endpoint(int port) => Transport == "ipc" ? $"ipc://{Ip}-{port}" : $"tcp://{Ip}:{port}";
}

/// <summary>The kernel cannot start: a bad connection file, a missing library. Its message says what to fix.</summary>
public sealed class KernelStartupException(string message) : Exception(message);
