namespace LoraLab.Kernel.ZeroMq;

/// <summary>A libzmq call failed: which call, and libzmq's own message and error number.</summary>
public sealed class ZmqException(string operation, string message, int errorCode)
    : Exception($"{operation}: {message} (zmq errno {errorCode})")
{
    public int ErrorCode { get; } = errorCode;

    /// <summary>The context was terminated: sockets stop, which is how the kernel's loops learn of shutdown.</summary>
    public bool IsTerminated => ErrorCode == ZmqNative.ETERM;

    internal static ZmqException Last(string operation)
    {
        var message = ZmqNative.LastError(out var code);
        return new ZmqException(operation, message, code);
    }
}
