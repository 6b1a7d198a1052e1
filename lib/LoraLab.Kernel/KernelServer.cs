using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using LoraLab.Kernel.Protocol;
using LoraLab.Kernel.ZeroMq;
using LoraLab.Notebooks.Engine;

namespace LoraLab.Kernel;

/// <summary>
/// The kernel process: binds the five sockets of a connection file and serves them until shutdown_request.
/// Shell requests run one at a time on the shell thread (a running cell blocks later cells, as in every kernel);
/// control requests (interrupt, shutdown, kernel_info) have their own thread so they are answered while a cell runs;
/// the heartbeat echoes on a third. Every request is wrapped in status busy ... idle on IOPub.
/// </summary>
public sealed class KernelServer : IDisposable
{
    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    readonly ZmqContext context = new();
    readonly ZmqSocket shell, control, stdinSocket, iopubSocket, heartbeat;
    readonly WireFormat wire;
    readonly IopubChannel iopub;
    readonly ExecutionSession session;
    readonly StdinReader stdin;
    readonly TextWriter log;
    readonly ManualResetEventSlim stopped = new();
    volatile bool stopping;

    public KernelServer(ConnectionInfo connection, string baseDirectory, TextWriter log)
    {
        this.log = log;
        wire = new WireFormat(new MessageSigner(connection.Key));
        var sessionId = Guid.NewGuid().ToString();
        shell = Bound(ZmqNative.ROUTER, connection, connection.ShellPort);
        control = Bound(ZmqNative.ROUTER, connection, connection.ControlPort);
        stdinSocket = Bound(ZmqNative.ROUTER, connection, connection.StdinPort);
        iopubSocket = Bound(ZmqNative.PUB, connection, connection.IopubPort);
        heartbeat = Bound(ZmqNative.REP, connection, connection.HeartbeatPort);
        iopub = new IopubChannel(iopubSocket, wire, sessionId);
        stdin = new StdinReader(stdinSocket, wire, sessionId);
        session = new ExecutionSession(new CSharpKernel(baseDirectory), iopub, stdin);
    }

    ZmqSocket Bound(int type, ConnectionInfo connection, int port)
    {
        var socket = context.Socket(type);
        socket.Bind(connection.Endpoint(port));
        return socket;
    }

    /// <summary>Serves until a shutdown_request; returns the process exit code.</summary>
    public int Run()
    {
        Console.SetIn(stdin);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, signal =>
        {
            signal.Cancel = true; // an interrupt, not the end of the kernel
            session.Interrupt();
        });
        var threads = new[]
        {
            Start("shell", () => Serve(shell, isControl: false)),
            Start("control", () => Serve(control, isControl: true)),
            Start("heartbeat", Heartbeat),
        };
        iopub.Status("starting", null);
        stopped.Wait();
        // A cell stuck in a call that never returns keeps the shell thread busy; the threads are background threads,
        // so the process still ends.
        var allEnded = threads.All(thread => thread.Join(TimeSpan.FromSeconds(2)));
        // Closing the sockets sends what is still queued (the shutdown reply, the last idle), within their linger time;
        // only when no thread still uses them.
        if (allEnded) Dispose();
        return 0;
    }

    static Thread Start(string name, Action loop)
    {
        var thread = new Thread(() => loop()) { Name = name, IsBackground = true };
        thread.Start();
        return thread;
    }

    void Serve(ZmqSocket socket, bool isControl)
    {
        var channel = isControl ? "control" : "shell";
        while (!stopping)
        {
            try
            {
                if (socket.Receive(PollInterval) is { } frames) Handle(socket, frames, isControl);
            }
            catch (Exception error) when (!stopping)
            {
                // A failed send or receive loses one message, not the kernel.
                log.WriteLine($"loralab-kernel: {channel} channel: {error.Message}");
            }
        }
    }

    void Handle(ZmqSocket socket, List<byte[]> frames, bool isControl)
    {
        if (wire.Deserialize(frames, out var rejection) is not { } request)
        {
            log.WriteLine($"loralab-kernel: ignored a message on {(isControl ? "control" : "shell")}: {rejection}");
            return;
        }
        List<List<byte[]>> queuedBehindError = [];
        iopub.Status("busy", request);
        try
        {
            var content = Reply(request, isControl);
            // Taken before the error reply goes out: what the client sent without knowing of the error.
            if (request.MessageType == "execute_request" && (string?)content?["status"] == "error" && ((bool?)request.Content["stop_on_error"] ?? true))
                queuedBehindError = Queued(socket);
            if (content is not null) Send(socket, request, content);
        }
        finally
        {
            iopub.Status("idle", request);
        }
        if (request.MessageType == "shutdown_request") Stop();
        foreach (var queued in queuedBehindError) AbortOrHandle(socket, queued, isControl);
    }

    void Send(ZmqSocket socket, JupyterMessage request, JsonObject content) =>
        socket.Send(wire.Serialize(JupyterMessage.Create(ReplyType(request.MessageType), content, request, iopub.Session)));

    static List<List<byte[]>> Queued(ZmqSocket socket)
    {
        var queued = new List<List<byte[]>>();
        while (socket.Receive(TimeSpan.Zero) is { } frames) queued.Add(frames);
        return queued;
    }

    // After a failed cell, the cells already queued behind it (JupyterLab's "Run All" sends them all at once) are
    // answered "aborted" rather than run on a session in an unexpected state, as stop_on_error asks.
    void AbortOrHandle(ZmqSocket socket, List<byte[]> frames, bool isControl)
    {
        if (wire.Deserialize(frames, out _) is not { MessageType: "execute_request" } request)
        {
            Handle(socket, frames, isControl);
            return;
        }
        iopub.Status("busy", request);
        Send(socket, request, new JsonObject { ["status"] = "aborted" });
        iopub.Status("idle", request);
    }

    // The reply's content, or null for messages that get none (comm messages, unknown types).
    JsonObject? Reply(JupyterMessage request, bool isControl)
    {
        try
        {
            return request.MessageType switch
            {
                "kernel_info_request" => RequestHandlers.KernelInfo(),
                "execute_request" when !isControl => session.Execute(request),
                "complete_request" => RequestHandlers.Complete(session.Engine, request.Content),
                "inspect_request" => RequestHandlers.Inspect(session.Engine, request.Content),
                "is_complete_request" => RequestHandlers.IsComplete(request.Content),
                "history_request" => RequestHandlers.History(session.History, request.Content),
                "comm_info_request" => RequestHandlers.CommInfo(),
                "interrupt_request" => Interrupt(),
                "shutdown_request" => new JsonObject { ["status"] = "ok", ["restart"] = (bool?)request.Content["restart"] ?? false },
                "comm_open" or "comm_msg" or "comm_close" => null,
                var other => Unknown(other),
            };
        }
        catch (Exception error)
        {
            // A request the kernel fails to answer is an error reply, never the end of the kernel.
            log.WriteLine($"loralab-kernel: {request.MessageType} failed: {error}");
            return new JsonObject
            {
                ["status"] = "error", ["ename"] = error.GetType().FullName, ["evalue"] = error.Message,
                ["traceback"] = new JsonArray(error.ToString().Split('\n').Select(line => (JsonNode?)line).ToArray()),
            };
        }
    }

    JsonObject Interrupt()
    {
        session.Interrupt();
        return new JsonObject { ["status"] = "ok" };
    }

    JsonObject? Unknown(string type)
    {
        log.WriteLine($"loralab-kernel: ignored unknown message type '{type}'");
        return null;
    }

    static string ReplyType(string requestType) =>
        requestType.EndsWith("_request", StringComparison.Ordinal) ? requestType[..^"_request".Length] + "_reply" : requestType + "_reply";

    // libzmq's REP socket answers each ping with the same frames: the front end's "is the kernel alive" check.
    void Heartbeat()
    {
        while (!stopping)
        {
            try
            {
                if (heartbeat.Receive(PollInterval) is { } ping) heartbeat.Send(ping);
            }
            catch (Exception error) when (!stopping)
            {
                log.WriteLine($"loralab-kernel: heartbeat: {error.Message}");
            }
        }
    }

    /// <summary>Ends <see cref="Run"/>: a shutdown_request (restart too: the front end then starts a new process).</summary>
    public void Stop()
    {
        stopping = true;
        session.Interrupt();
        stopped.Set();
    }

    public void Dispose()
    {
        foreach (var socket in new[] { shell, control, stdinSocket, iopubSocket, heartbeat }) socket.Dispose();
        context.Dispose();
    }
}
