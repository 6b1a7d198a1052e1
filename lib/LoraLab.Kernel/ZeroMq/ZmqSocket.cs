using System.Text;

namespace LoraLab.Kernel.ZeroMq;

/// <summary>
/// One ZeroMQ socket, sending and receiving multipart messages as lists of byte arrays (Jupyter's wire format is
/// multipart). Like libzmq sockets it is not thread-safe: use each from one thread, or behind a lock.
/// </summary>
public sealed unsafe class ZmqSocket : IDisposable
{
    IntPtr handle;

    internal ZmqSocket(IntPtr handle)
    {
        this.handle = handle;
        // On close, try for at most a second to deliver what is queued: long enough for a last reply to reach a client,
        // short enough that a kernel shutting down never hangs on a client that went away.
        SetOption(ZmqNative.LINGER, 1000);
    }

    internal IntPtr Handle => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(ZmqSocket));

    public void Bind(string endpoint) => Check(ZmqNative.Bind(Handle, endpoint), $"zmq_bind {endpoint}");
    public void Connect(string endpoint) => Check(ZmqNative.Connect(Handle, endpoint), $"zmq_connect {endpoint}");

    /// <summary>The endpoint actually bound, e.g. "tcp://127.0.0.1:54321" after binding port 0 ("tcp://127.0.0.1:*").</summary>
    public string LastEndpoint
    {
        get
        {
            var buffer = stackalloc byte[256];
            nuint size = 256;
            Check(ZmqNative.GetSocketOption(Handle, ZmqNative.LAST_ENDPOINT, buffer, ref size), "zmq_getsockopt LAST_ENDPOINT");
            return Encoding.UTF8.GetString(buffer, (int)size).TrimEnd('\0');
        }
    }

    public void SetOption(int option, int value) =>
        Check(ZmqNative.SetSocketOption(Handle, option, &value, sizeof(int)), $"zmq_setsockopt {option}");

    public void SetOption(int option, byte[] value)
    {
        fixed (byte* bytes = value)
            Check(ZmqNative.SetSocketOption(Handle, option, bytes, (nuint)value.Length), $"zmq_setsockopt {option}");
    }

    /// <summary>Sends all frames as one multipart message (blocking only if the peer's queue is full).</summary>
    public void Send(IReadOnlyList<byte[]> frames)
    {
        if (frames.Count == 0) throw new ArgumentException("A ZeroMQ message has at least one frame.", nameof(frames));
        for (var i = 0; i < frames.Count; i++)
        {
            var flags = i < frames.Count - 1 ? ZmqNative.SNDMORE : 0;
            fixed (byte* bytes = frames[i])
            {
                while (ZmqNative.Send(Handle, bytes, (nuint)frames[i].Length, flags) < 0)
                    if (ZmqNative.Errno() != ZmqNative.EINTR) throw ZmqException.Last("zmq_send");
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for a message and returns its frames, or null if none came.</summary>
    public List<byte[]>? Receive(TimeSpan timeout)
    {
        if (!WaitReadable(timeout)) return null;
        var frames = new List<byte[]>();
        ZmqNative.Message message;
        bool more;
        do
        {
            Check(ZmqNative.MessageInit(&message), "zmq_msg_init");
            try
            {
                while (ZmqNative.MessageReceive(&message, Handle, 0) < 0)
                    if (ZmqNative.Errno() != ZmqNative.EINTR) throw ZmqException.Last("zmq_msg_recv");
                frames.Add(new ReadOnlySpan<byte>(ZmqNative.MessageData(&message), (int)ZmqNative.MessageSize(&message)).ToArray());
                more = ZmqNative.MessageMore(&message) != 0;
            }
            finally
            {
                ZmqNative.MessageClose(&message);
            }
        } while (more);
        return frames;
    }

    bool WaitReadable(TimeSpan timeout)
    {
        var item = new ZmqNative.PollItem { Socket = Handle, Events = ZmqNative.POLLIN };
        var milliseconds = timeout == Timeout.InfiniteTimeSpan ? -1 : (long)timeout.TotalMilliseconds;
        int ready;
        while ((ready = ZmqNative.Poll(&item, 1, milliseconds)) < 0)
            if (ZmqNative.Errno() != ZmqNative.EINTR) throw ZmqException.Last("zmq_poll");
        return ready > 0 && (item.ReturnedEvents & ZmqNative.POLLIN) != 0;
    }

    public void Dispose()
    {
        if (handle == IntPtr.Zero) return;
        ZmqNative.Close(handle);
        handle = IntPtr.Zero;
    }

    static void Check(int result, string operation)
    {
        if (result != 0) throw ZmqException.Last(operation);
    }
}
