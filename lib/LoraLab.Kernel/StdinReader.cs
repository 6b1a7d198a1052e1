using System.Text.Json.Nodes;
using LoraLab.Kernel.Protocol;
using LoraLab.Kernel.ZeroMq;

namespace LoraLab.Kernel;

/// <summary>
/// Console.In while the kernel runs: Console.ReadLine() in a cell sends input_request on the stdin socket to the front
/// end that sent the execute_request, and returns what the user typed (input_reply). A front end that does not take
/// input (allow_stdin false, e.g. nbconvert) makes ReadLine fail with a clear message instead of hanging.
/// </summary>
sealed class StdinReader(ZmqSocket socket, WireFormat wire, string session) : TextReader
{
    readonly Lock gate = new();
    JupyterMessage? request;
    CancellationToken interrupt;

    /// <summary>The execute_request whose cell is running, and whether its front end accepts input.</summary>
    public void Begin(JupyterMessage executeRequest, CancellationToken cellInterrupt)
    {
        lock (gate)
        {
            request = (bool?)executeRequest.Content["allow_stdin"] == true ? executeRequest : null;
            interrupt = cellInterrupt;
        }
    }

    public void End()
    {
        lock (gate) request = null;
    }

    public override string? ReadLine()
    {
        lock (gate)
        {
            if (request is null)
                throw new InvalidOperationException("This front end does not accept input (allow_stdin is false): the cell cannot read from Console.In.");
            socket.Send(wire.Serialize(JupyterMessage.Create("input_request", new JsonObject { ["prompt"] = "", ["password"] = false }, request, session)));
            while (true)
            {
                interrupt.ThrowIfCancellationRequested();
                if (socket.Receive(TimeSpan.FromMilliseconds(100)) is not { } frames) continue;
                if (wire.Deserialize(frames, out _) is { MessageType: "input_reply" } reply)
                    return (string?)reply.Content["value"] ?? "";
            }
        }
    }

    public override int Read() => throw new NotSupportedException("Read lines with Console.ReadLine() in a kernel cell.");
}
