using System.Text.Json.Nodes;
using LoraLab.Kernel.Protocol;
using LoraLab.Kernel.ZeroMq;

namespace LoraLab.Kernel;

/// <summary>
/// The IOPub socket: everything the kernel broadcasts (status, execute_input, outputs). Shell, control and the cell's
/// own threads all publish, so sends are serialized by a lock (a ZeroMQ socket must not be used by two threads at once).
/// </summary>
sealed class IopubChannel(ZmqSocket socket, WireFormat wire, string session)
{
    readonly Lock gate = new();

    public string Session => session;

    public void Publish(string type, JsonObject content, JupyterMessage? parent)
    {
        // PUB messages are routed by topic, the first frame; jupyter_client subscribes to everything.
        var message = JupyterMessage.Create(type, content, parent, session, identities: [System.Text.Encoding.UTF8.GetBytes("kernel." + type)]);
        var frames = wire.Serialize(message);
        lock (gate) socket.Send(frames);
    }

    public void Status(string state, JupyterMessage? parent) =>
        Publish("status", new JsonObject { ["execution_state"] = state }, parent);
}
