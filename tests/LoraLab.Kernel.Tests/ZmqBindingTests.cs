using LoraLab.Kernel.ZeroMq;

namespace LoraLab.Kernel.Tests;

/// <summary>The P/Invoke binding of libzmq5, socket to socket within the process.</summary>
public sealed class ZmqBindingTests : IDisposable
{
    readonly ZmqContext context = new();

    [Fact]
    public void Libzmq_4_is_loaded()
    {
        Assert.Equal(4, ZmqContext.Version.Major);
    }

    [Fact]
    public void A_dealer_and_a_router_exchange_multipart_messages_with_empty_and_binary_frames()
    {
        using var router = context.Socket(ZmqNative.ROUTER);
        router.Bind("tcp://127.0.0.1:*");
        using var dealer = context.Socket(ZmqNative.DEALER);
        dealer.SetOption(ZmqNative.IDENTITY, "client-1"u8.ToArray());
        dealer.Connect(router.LastEndpoint);

        byte[][] sent = ["hello"u8.ToArray(), [], Enumerable.Range(0, 256).Select(i => (byte)i).ToArray()];
        dealer.Send(sent);
        var received = router.Receive(TimeSpan.FromSeconds(5));

        Assert.NotNull(received);
        Assert.Equal(["client-1"u8.ToArray(), .. sent], received); // the router prefixes the sender's identity
        router.Send(received);
        Assert.Equal(sent, dealer.Receive(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Receive_returns_null_when_nothing_arrives_in_time()
    {
        using var reply = context.Socket(ZmqNative.REP);
        reply.Bind("tcp://127.0.0.1:*");
        Assert.Null(reply.Receive(TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public void Binding_a_port_in_use_or_a_malformed_endpoint_throws_libzmqs_message()
    {
        using var first = context.Socket(ZmqNative.ROUTER);
        first.Bind("tcp://127.0.0.1:*");
        using var second = context.Socket(ZmqNative.ROUTER);

        var inUse = Assert.Throws<ZmqException>(() => second.Bind(first.LastEndpoint));
        Assert.Contains(first.LastEndpoint, inUse.Message);
        Assert.Contains("in use", inUse.Message);
        var malformed = Assert.Throws<ZmqException>(() => second.Bind("not-an-endpoint"));
        Assert.Contains("not-an-endpoint", malformed.Message);
        Assert.Throws<ArgumentException>(() => first.Send([]));
    }

    [Fact]
    public void A_closed_socket_refuses_use()
    {
        var socket = context.Socket(ZmqNative.PUB);
        socket.Dispose();
        Assert.Throws<ObjectDisposedException>(() => socket.Bind("tcp://127.0.0.1:*"));
    }

    public void Dispose() => context.Dispose();
}
