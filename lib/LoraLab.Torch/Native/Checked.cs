using System.Runtime.InteropServices;
using System.Text;

namespace LoraLab.Torch.Native;

/// <summary>Turns the shim's failure values into managed exceptions carrying libtorch's message.</summary>
internal static unsafe class Checked
{
    static Checked() => NativeLoader.EnsureRegistered();

    /// <summary>The pending native error as an exception, with an optional description of the call.</summary>
    internal static TorchException Error(string? context = null)
    {
        const int capacity = 8192;
        byte* buffer = stackalloc byte[capacity];
        int length = NativeMethods.lt_take_error(buffer, capacity);
        string message = length == 0
            ? "the native call failed without a message"
            : Encoding.UTF8.GetString(buffer, Math.Min(length, capacity - 1));
        return new TorchException(context is null ? message : $"{context}: {message}");
    }

    /// <summary>A new tensor from a handle, or the pending error.</summary>
    internal static Tensor Tensor(IntPtr handle, string? context = null) =>
        handle != IntPtr.Zero ? new Tensor(handle) : throw Error(context);

    internal static void Status(int status, string? context = null)
    {
        if (status < 0) throw Error(context);
    }

    /// <summary>A handle that may legitimately be null (an absent gradient): null unless an error is pending.</summary>
    internal static Tensor? Optional(IntPtr handle)
    {
        if (handle != IntPtr.Zero) return new Tensor(handle);
        if (NativeMethods.lt_take_error(null, 0) != 0) throw Error();
        return null;
    }
}

/// <summary>Finds libloralab_torch.so next to LoraLab.Torch.dll, wherever that assembly was
/// loaded from (a test's bin folder, or a notebook's #r path).</summary>
internal static class NativeLoader
{
    private static int registered;

    internal static void EnsureRegistered()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLoader).Assembly, (name, assembly, searchPath) =>
        {
            if (name != NativeMethods.Library) return IntPtr.Zero;
            string folder = Path.GetDirectoryName(assembly.Location) ?? AppContext.BaseDirectory;
            string candidate = Path.Combine(folder, "lib" + name + ".so");
            if (File.Exists(candidate)) return NativeLibrary.Load(candidate);
            if (NativeLibrary.TryLoad(name, assembly, searchPath, out IntPtr handle)) return handle;
            throw new DllNotFoundException(
                $"LoraLab could not find lib{name}.so next to {assembly.Location}. " +
                "Build the library first (./lab build, or dotnet build lib/LoraLab.Torch); see README.md.");
        });
    }
}
