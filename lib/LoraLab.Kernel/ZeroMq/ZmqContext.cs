namespace LoraLab.Kernel.ZeroMq;

/// <summary>A libzmq context: owns its sockets' I/O threads. Dispose after closing every socket made from it.</summary>
public sealed class ZmqContext : IDisposable
{
    IntPtr handle;

    public ZmqContext()
    {
        try
        {
            handle = ZmqNative.ContextNew();
        }
        catch (DllNotFoundException error)
        {
            throw new DllNotFoundException(
                "libzmq.so.5 (ZeroMQ) was not found. Install it with `./lab setup` or `apt-get install libzmq5`.", error);
        }
        if (handle == IntPtr.Zero) throw ZmqException.Last("zmq_ctx_new");
    }

    /// <summary>libzmq's version, e.g. (4, 3, 4).</summary>
    public static (int Major, int Minor, int Patch) Version
    {
        get { ZmqNative.Version(out var major, out var minor, out var patch); return (major, minor, patch); }
    }

    public ZmqSocket Socket(int type)
    {
        ObjectDisposedException.ThrowIf(handle == IntPtr.Zero, this);
        var socket = ZmqNative.Socket(handle, type);
        if (socket == IntPtr.Zero) throw ZmqException.Last("zmq_socket");
        return new ZmqSocket(socket);
    }

    /// <summary>Makes every blocking call on this context's sockets fail with ETERM, so threads waiting in them end.</summary>
    public void Shutdown()
    {
        if (handle != IntPtr.Zero) ZmqNative.ContextShutdown(handle);
    }

    public void Dispose()
    {
        if (handle == IntPtr.Zero) return;
        while (ZmqNative.ContextTerminate(handle) != 0 && ZmqNative.Errno() == ZmqNative.EINTR) { }
        handle = IntPtr.Zero;
    }
}
