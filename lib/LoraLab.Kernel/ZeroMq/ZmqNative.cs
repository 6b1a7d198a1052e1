using System.Runtime.InteropServices;

namespace LoraLab.Kernel.ZeroMq;

/// <summary>
/// The few libzmq (4.x) entry points the kernel uses, bound by P/Invoke to Debian's libzmq5 (libzmq.so.5).
/// Signatures follow zmq.h; see <see cref="ZmqSocket"/> for the safe wrapper.
/// </summary>
static unsafe partial class ZmqNative
{
    const string Library = "libzmq.so.5";

    public const int PUB = 1, SUB = 2, REQ = 3, REP = 4, DEALER = 5, ROUTER = 6;
    public const int SNDMORE = 2, DONTWAIT = 1;
    public const int POLLIN = 1;
    public const int IDENTITY = 5, SUBSCRIBE = 6, RCVMORE = 13, LINGER = 17, LAST_ENDPOINT = 32;
    public const int EAGAIN = 11, EINTR = 4;
    public const int ETERM = 156384712 + 53; // ZMQ_HAUSNUMERO + 53

    /// <summary>zmq_msg_t: an opaque 64-byte, 8-aligned structure.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    public struct Message { long first; }

    /// <summary>zmq_pollitem_t on Unix: { void *socket; int fd; short events; short revents; }.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollItem
    {
        public IntPtr Socket;
        public int FileDescriptor;
        public short Events;
        public short ReturnedEvents;
    }

    [LibraryImport(Library, EntryPoint = "zmq_version")] public static partial void Version(out int major, out int minor, out int patch);
    [LibraryImport(Library, EntryPoint = "zmq_errno")] public static partial int Errno();
    [LibraryImport(Library, EntryPoint = "zmq_strerror")] public static partial IntPtr StrError(int error);

    [LibraryImport(Library, EntryPoint = "zmq_ctx_new")] public static partial IntPtr ContextNew();
    [LibraryImport(Library, EntryPoint = "zmq_ctx_term")] public static partial int ContextTerminate(IntPtr context);
    [LibraryImport(Library, EntryPoint = "zmq_ctx_shutdown")] public static partial int ContextShutdown(IntPtr context);

    [LibraryImport(Library, EntryPoint = "zmq_socket")] public static partial IntPtr Socket(IntPtr context, int type);
    [LibraryImport(Library, EntryPoint = "zmq_close")] public static partial int Close(IntPtr socket);
    [LibraryImport(Library, EntryPoint = "zmq_bind", StringMarshalling = StringMarshalling.Utf8)] public static partial int Bind(IntPtr socket, string endpoint);
    [LibraryImport(Library, EntryPoint = "zmq_connect", StringMarshalling = StringMarshalling.Utf8)] public static partial int Connect(IntPtr socket, string endpoint);
    [LibraryImport(Library, EntryPoint = "zmq_setsockopt")] public static partial int SetSocketOption(IntPtr socket, int option, void* value, nuint size);
    [LibraryImport(Library, EntryPoint = "zmq_getsockopt")] public static partial int GetSocketOption(IntPtr socket, int option, void* value, ref nuint size);

    [LibraryImport(Library, EntryPoint = "zmq_send")] public static partial int Send(IntPtr socket, byte* buffer, nuint length, int flags);
    [LibraryImport(Library, EntryPoint = "zmq_msg_init")] public static partial int MessageInit(Message* message);
    [LibraryImport(Library, EntryPoint = "zmq_msg_recv")] public static partial int MessageReceive(Message* message, IntPtr socket, int flags);
    [LibraryImport(Library, EntryPoint = "zmq_msg_data")] public static partial byte* MessageData(Message* message);
    [LibraryImport(Library, EntryPoint = "zmq_msg_size")] public static partial nuint MessageSize(Message* message);
    [LibraryImport(Library, EntryPoint = "zmq_msg_more")] public static partial int MessageMore(Message* message);
    [LibraryImport(Library, EntryPoint = "zmq_msg_close")] public static partial int MessageClose(Message* message);

    [LibraryImport(Library, EntryPoint = "zmq_poll")] public static partial int Poll(PollItem* items, int count, long timeoutMilliseconds);

    public static string LastError(out int code)
    {
        code = Errno();
        return Marshal.PtrToStringUTF8(StrError(code)) ?? $"error {code}";
    }
}
