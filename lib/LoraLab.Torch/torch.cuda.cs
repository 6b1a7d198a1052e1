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
            /// <summary>Whether training steps can be captured as CUDA graphs: a CUDA libtorch with torch_cuda
        /// (the shim built with LORALAB_WITH_CUDA_GRAPHS) and a visible GPU.</summary>
        public static bool graphs_supported() => NativeMethods.lt_cuda_graphs_supported() != 0;

        /// <summary>
        /// A CUDA graph (at::cuda::CUDAGraph), as torch.cuda.CUDAGraph: Warmup runs work eagerly on the graph's
        /// side stream (PyTorch's recipe wants a few such iterations first), Capture records it, Replay reruns
        /// the recorded kernels on the same memory. Inputs must be static tensors the caller overwrites in place
        /// before each Replay; outputs are the tensors the captured work produced, overwritten by each Replay.
        /// </summary>
        public sealed class CUDAGraph : IDisposable
        {
            private IntPtr handle;

            public CUDAGraph(int device = 0)
            {
                if (!graphs_supported()) throw new NotSupportedException("CUDA graphs need a CUDA libtorch with torch_cuda and a visible GPU (torch.cuda.graphs_supported() is false)");
                handle = NativeMethods.lt_cuda_graph_new(device);
                if (handle == IntPtr.Zero) throw Checked.Error("CUDAGraph");
            }

            public bool captured { get; private set; }

            public void Warmup(Action work) => Region(work, capture: false);

            public void Capture(Action work)
            {
                Region(work, capture: true);
                captured = true;
            }

            public void Replay() => Checked.Status(NativeMethods.lt_cuda_graph_replay(Live()), "CUDAGraph.replay");

            private void Region(Action work, bool capture)
            {
                Checked.Status(NativeMethods.lt_cuda_graph_begin(Live(), capture ? 1 : 0), capture ? "CUDAGraph.capture_begin" : "CUDAGraph warm-up");
                try { work(); }
                finally { Checked.Status(NativeMethods.lt_cuda_graph_end(handle, capture ? 1 : 0), capture ? "CUDAGraph.capture_end" : "CUDAGraph warm-up end"); }
            }

            private IntPtr Live() => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(CUDAGraph));

            public void Dispose()
            {
                if (handle != IntPtr.Zero) NativeMethods.lt_cuda_graph_free(handle);
                handle = IntPtr.Zero;
                GC.SuppressFinalize(this);
            }

            ~CUDAGraph() => Dispose();
        }
    }
}
