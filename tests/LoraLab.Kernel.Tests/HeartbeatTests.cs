using System.Net;
using System.Net.Sockets;
using LoraLab.Kernel.Protocol;
using LoraLab.Kernel.ZeroMq;

namespace LoraLab.Kernel.Tests;

public sealed class HeartbeatTests
{
    [Fact]
    public void The_heartbeat_socket_echoes_each_ping_and_stop_ends_the_server()
    {
        int[] ports = [FreePort(), FreePort(), FreePort(), FreePort(), FreePort()];
        var connection = new ConnectionInfo("tcp", "127.0.0.1", ports[0], ports[1], ports[2], ports[3], ports[4], "key", "hmac-sha256");
        var server = new KernelServer(connection, Path.GetTempPath(), TextWriter.Null);
        var serving = Task.Run(server.Run);

        using var context = new ZmqContext();
        using var ping = context.Socket(ZmqNative.REQ);
        ping.Connect(connection.Endpoint(connection.HeartbeatPort));
        for (var i = 0; i < 3; i++)
        {
            byte[] payload = [(byte)i, 42];
            ping.Send([payload]);
            Assert.Equal([payload], ping.Receive(TimeSpan.FromSeconds(10)));
        }

        server.Stop();
        Assert.True(serving.Wait(TimeSpan.FromSeconds(10)), "Run returns after Stop");
        Assert.Equal(0, serving.Result);
    }

    // A port the OS just handed out and released: free for the server to bind a moment later.
    static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
