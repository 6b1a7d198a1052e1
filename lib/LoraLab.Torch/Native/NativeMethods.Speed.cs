using System.Runtime.InteropServices;

namespace LoraLab.Torch.Native;

// Entry points of shim/cross_entropy_fp32.cpp and shim/cuda_graph.cpp.
internal static unsafe partial class NativeMethods
{
    [DllImport(Library)] internal static extern IntPtr lt_cross_entropy_fp32(IntPtr logits, IntPtr target, int reduction, long ignoreIndex, long chunkRows);

    [DllImport(Library)] internal static extern int lt_cuda_graphs_supported();
    [DllImport(Library)] internal static extern IntPtr lt_cuda_graph_new(int device);
    [DllImport(Library)] internal static extern int lt_cuda_graph_begin(IntPtr graph, int capture);
    [DllImport(Library)] internal static extern int lt_cuda_graph_end(IntPtr graph, int capture);
    [DllImport(Library)] internal static extern int lt_cuda_graph_replay(IntPtr graph);
    [DllImport(Library)] internal static extern void lt_cuda_graph_free(IntPtr graph);
}
