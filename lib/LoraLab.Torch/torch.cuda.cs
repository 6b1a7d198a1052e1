using LoraLab.Torch.Native;

namespace LoraLab.Torch;

public static partial class torch
{
    /// <summary>CUDA devices. On a CPU-only libtorch every query answers "none" (and memory 0).</summary>
    public static class cuda
    {
        public static bool is_available() => NativeMethods.lt_cuda_is_available() != 0;

        public static int device_count() => NativeMethods.lt_cuda_device_count();

        /// <summary>Whether the libtorch this shim was built against is a CUDA build.</summary>
        public static bool is_cuda_build() => NativeMethods.lt_has_cuda_build() != 0;

        /// <summary>Waits for all kernels on the device (all devices with -1) to finish: needed before timing GPU work.</summary>
        public static void synchronize(int device = -1)
        {
            if (is_available()) Checked.Status(NativeMethods.lt_cuda_synchronize(device), "cuda.synchronize");
        }

        public static long memory_allocated(int device = 0) => Memory(device, 0);

        public static long max_memory_allocated(int device = 0) => Memory(device, 1);

        public static long memory_reserved(int device = 0) => Memory(device, 2);

        public static void reset_peak_memory_stats(int device = 0) => Checked.Status(NativeMethods.lt_cuda_reset_peak_memory(device), "reset_peak_memory_stats");

        public static void empty_cache() => Checked.Status(NativeMethods.lt_cuda_empty_cache(), "empty_cache");

        private static long Memory(int device, int which)
        {
            long bytes = NativeMethods.lt_cuda_memory(device, which);
            return bytes >= 0 ? bytes : throw Checked.Error("cuda memory statistics");
        }
    }
}
