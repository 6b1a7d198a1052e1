using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace LoraLab;

/// <summary>TorchSharp's native library could not be loaded: the message says which file, and what it lacks.</summary>
public sealed class TorchRuntimeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Loads TorchSharp's native library (libLibTorchSharp, and libtorch through it) before TorchSharp's first call, so that
/// a library that cannot load is reported with the loader's own reason (a missing file, a missing GLIBCXX version)
/// instead of TorchSharp's bare TypeInitializationException; and sets libtorch's intra-op thread count on purpose.
/// Runs once, when LoraLab is first used (a module initializer), and again harmlessly from <see cref="EnsureLoaded"/>.
/// </summary>
public static class TorchRuntime
{
    /// <summary>Names a libLibTorchSharp to load instead of the one beside TorchSharp.dll: one built against another
    /// libtorch (a Python install of PyTorch with CUDA, as on the GPU machine).</summary>
    public const string LibraryVariable = "LORALAB_LIBTORCHSHARP";

    /// <summary>libtorch's intra-op threads; unset, LoraLab uses <see cref="DefaultThreads"/>.</summary>
    public const string ThreadsVariable = "LORALAB_THREADS";

    private static readonly object gate = new();
    private static string? loadedFrom;
    private static TorchRuntimeException? failure;

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "LoraLab cannot run without libtorch: load it, or say why not, before any LoraLab code runs")]
    internal static void Initialize() => EnsureLoaded();

    /// <summary>The file the native library was loaded from.</summary>
    public static string LoadedFrom => EnsureLoaded();

    /// <summary>Loads the native library once; throws <see cref="TorchRuntimeException"/> (every time) if it cannot.</summary>
    public static string EnsureLoaded()
    {
        lock (gate)
        {
            if (loadedFrom is not null) return loadedFrom;
            if (failure is not null) throw failure;
            try
            {
                loadedFrom = Load();
                torch.set_num_threads(Threads());
                return loadedFrom;
            }
            catch (TorchRuntimeException e)
            {
                failure = e;
                throw;
            }
        }
    }

    /// <summary>
    /// The default intra-op thread count: 1. Measured on the 2-core machine (the quick base's training step): one thread
    /// 360 ms whether the other core is idle or busy; two threads 241 ms on an idle machine but 673 ms with the other
    /// core busy, because the bundled OpenMP runtime spins waiting for the descheduled thread (and with
    /// OMP_WAIT_POLICY=PASSIVE, 355 and 400 ms: no gain at all). A fixed count also keeps a seeded run's numbers the same
    /// on every machine (threads change the order of floating-point sums). Many small runs use the cores better as
    /// parallel workers than as threads; set LORALAB_THREADS for one large run on an idle machine.
    /// </summary>
    public const int DefaultThreads = 1;

    /// <summary>
    /// libtorch's threads set to every core for one large computation that has the machine to itself (pretraining a base
    /// model: measured 241 ms a step with two threads against 360 ms with one on the idle 2-core machine), unless
    /// LORALAB_THREADS fixes the count (as it does in a sweep's worker processes, which share the cores). Disposing the
    /// result restores the count. The thread count changes the order of floating-point sums, so a base built with more
    /// threads is equal to one built with fewer up to rounding, not bit for bit.
    /// </summary>
    public static IDisposable AllCoresUnlessSet()
    {
        EnsureLoaded();
        int before = torch.get_num_threads();
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(ThreadsVariable)))
            torch.set_num_threads(Environment.ProcessorCount);
        return new RestoreThreads(before);
    }

    private sealed class RestoreThreads(int count) : IDisposable
    {
        public void Dispose() => torch.set_num_threads(count);
    }

    private static int Threads()
    {
        string? text = Environment.GetEnvironmentVariable(ThreadsVariable);
        if (string.IsNullOrWhiteSpace(text)) return DefaultThreads;
        return int.TryParse(text, out int n) && n >= 1
            ? n
            : throw new TorchRuntimeException($"{ThreadsVariable}={text} is not a thread count (a whole number, 1 or more)");
    }

    private static string Load()
    {
        string? explicitPath = Environment.GetEnvironmentVariable(LibraryVariable);
        string path = !string.IsNullOrWhiteSpace(explicitPath)
            ? Path.GetFullPath(explicitPath)
            : Path.Combine(Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory, NativeName);
        if (!File.Exists(path))
            throw new TorchRuntimeException(
                explicitPath is not null
                    ? $"{LibraryVariable} names {path}, which does not exist"
                    : $"TorchSharp's native library {path} is missing: the build output lacks the libtorch package " +
                      "(reference TorchSharp-cpu, or set TorchSharpBackend; see docs/torchsharp.md)");
        try { NativeLibrary.Load(path); }
        catch (DllNotFoundException e) { throw new TorchRuntimeException(Explain(path, e.Message), e); }
        catch (BadImageFormatException e) { throw new TorchRuntimeException($"{path} is not a native library for this machine ({RuntimeInformation.ProcessArchitecture}): {e.Message}", e); }
        try { torch.InitializeDeviceType(DeviceType.CPU); }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or ExternalException)
        {
            throw new TorchRuntimeException($"{path} loaded, but TorchSharp could not start on it: {Innermost(e).Message}", e);
        }
        return path;
    }

    private static string NativeName =>
        OperatingSystem.IsWindows() ? "LibTorchSharp.dll" : OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";

    /// <summary>The loader's reason, plus what to do about the usual ones.</summary>
    internal static string Explain(string path, string loaderMessage)
    {
        string reason = loaderMessage.Trim();
        string advice = reason.Contains("GLIBCXX_") || reason.Contains("CXXABI_")
            ? " This system's libstdc++ is older than the one TorchSharp was built with. The build marks the one known-harmless " +
              "such need weak when it copies the library (build/ElfVersionNeeds.cs); a need it did not mark is a real one: " +
              "rebuild (./lab build) to let it check again, or install a newer libstdc++ (GCC 13 or later)."
            : reason.Contains("cannot open shared object file")
                ? " A library it depends on is missing from the build output or the system; the name is above."
                : "";
        return $"TorchSharp's native library could not be loaded from {path}: {reason}.{advice}";
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
