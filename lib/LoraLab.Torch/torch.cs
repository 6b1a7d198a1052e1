using LoraLab.Torch.Native;

namespace LoraLab.Torch;

/// <summary>
/// The entry point, named as in PyTorch: torch.randn(...), torch.no_grad(), torch.cat(...),
/// torch.nn.functional.cross_entropy(...), torch.linalg.svd(...), torch.cuda.is_available().
/// Creation functions take dtype (float32 by default), device (cpu by default) and requires_grad.
/// </summary>
public static partial class torch
{
    public const ScalarType float32 = ScalarType.Float32;
    public const ScalarType float64 = ScalarType.Float64;
    public const ScalarType float16 = ScalarType.Float16;
    public const ScalarType bfloat16 = ScalarType.BFloat16;
    public const ScalarType int64 = ScalarType.Int64;
    public const ScalarType int32 = ScalarType.Int32;
    public const ScalarType uint8 = ScalarType.Byte;
    public const ScalarType @bool = ScalarType.Bool;

    public static Device CPU => Device.CPU;
    public static Device CUDA => Device.CUDA;

    public static Device device(string name) => Device.Parse(name);

    /// <summary>libtorch's version, as (major, minor, patch).</summary>
    public static (int major, int minor, int patch) version
    {
        get
        {
            NativeMethods.lt_version(out int major, out int minor, out int patch);
            return (major, minor, patch);
        }
    }

    /// <summary>Opens a scope that frees every tensor created inside it when disposed (see <see cref="DisposeScope"/>).</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Seeds every generator (CPU and CUDA).</summary>
    public static void manual_seed(long seed) => Checked.Status(NativeMethods.lt_manual_seed(unchecked((ulong)seed)), "manual_seed");

    public static int get_num_threads() => NativeMethods.lt_get_num_threads();

    public static void set_num_threads(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), "at least one thread");
        Checked.Status(NativeMethods.lt_set_num_threads(threads), "set_num_threads");
    }

    // ---- grad mode -------------------------------------------------------------------------

    /// <summary>Stops recording operations for autograd on this thread until disposed:
    /// <c>using (torch.no_grad()) { ... }</c></summary>
    public static GradModeScope no_grad() => new(false);

    public static GradModeScope enable_grad() => new(true);

    public static bool is_grad_enabled() => NativeMethods.lt_is_grad_enabled() != 0;

    public sealed class GradModeScope : IDisposable
    {
        private readonly bool previous;
        private bool disposed;

        internal GradModeScope(bool enabled) => previous = NativeMethods.lt_set_grad_enabled(enabled ? 1 : 0) != 0;

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            NativeMethods.lt_set_grad_enabled(previous ? 1 : 0);
        }
    }
}
