// CUDA graphs: record a sequence of kernel launches once, replay it with one launch.
//
// Small models are launch-bound on a GPU: a training step is thousands of tiny kernels, and the
// host cannot issue them as fast as the device runs them. Capturing the step into a graph and
// replaying it removes that cost. Capture follows PyTorch's recipe (torch.cuda.graph): work runs
// on a side stream (capture is not allowed on the default stream), the graph's allocations come
// from a private pool so replays reuse the same addresses, and inputs are static tensors the
// caller overwrites before each replay.
//
// Built only when CMake defines LORALAB_WITH_CUDA_GRAPHS (a CUDA libtorch whose torch_cuda was
// found and the option LORALAB_CUDA_GRAPHS on); otherwise every entry point reports
// "unsupported" and the C# side runs steps eagerly.
#include "shim.h"

#ifdef LORALAB_WITH_CUDA_GRAPHS
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/cuda.h>
#endif

#include <memory>

#ifdef LORALAB_WITH_CUDA_GRAPHS
namespace {

// A graph and the side stream it is captured on.
struct Graph {
    explicit Graph(c10::DeviceIndex device) : stream(c10::cuda::getStreamFromPool(false, device)) {}
    at::cuda::CUDAGraph graph;
    c10::cuda::CUDAStream stream;
    std::unique_ptr<c10::cuda::CUDAStreamGuard> on_side_stream;
    bool captured = false;
};

Graph& G(void* g) {
    TORCH_CHECK(g != nullptr, "no CUDA graph (null handle)");
    return *static_cast<Graph*>(g);
}

}  // namespace
#endif

LT_API int lt_cuda_graphs_supported() {
#ifdef LORALAB_WITH_CUDA_GRAPHS
    return torch::cuda::is_available() ? 1 : 0;
#else
    return 0;
#endif
}

LT_API void* lt_cuda_graph_new(int device) {
#ifdef LORALAB_WITH_CUDA_GRAPHS
    try {
        return new Graph(static_cast<c10::DeviceIndex>(device));
    }
    LT_CATCH(nullptr)
#else
    (void)device;
    lt::set_error("this build of the LoraLab shim has no CUDA graphs (it needs a CUDA libtorch)");
    return nullptr;
#endif
}

// Makes the graph's side stream current, after the work queued so far has finished. With
// capture = 0 the work that follows runs eagerly on that stream (warm-up iterations, which
// PyTorch requires before a capture); with capture = 1 it is recorded into the graph.
LT_API int lt_cuda_graph_begin(void* g, int capture) {
#ifdef LORALAB_WITH_CUDA_GRAPHS
    LT_STATUS({
        Graph& graph = G(g);
        TORCH_CHECK(!graph.on_side_stream, "a CUDA graph region is already open");
        TORCH_CHECK(!(capture && graph.captured), "this CUDA graph was already captured");
        c10::cuda::device_synchronize();
        graph.on_side_stream = std::make_unique<c10::cuda::CUDAStreamGuard>(graph.stream);
        if (capture) graph.graph.capture_begin();
    })
#else
    (void)g; (void)capture;
    lt::set_error("this build of the LoraLab shim has no CUDA graphs");
    return -1;
#endif
}

// Ends the region lt_cuda_graph_begin opened (and the capture, if it was one); the previous
// stream is current again once the side stream's work has finished.
LT_API int lt_cuda_graph_end(void* g, int capture) {
#ifdef LORALAB_WITH_CUDA_GRAPHS
    LT_STATUS({
        Graph& graph = G(g);
        TORCH_CHECK(graph.on_side_stream, "no CUDA graph region is open");
        if (capture) {
            graph.graph.capture_end();
            graph.captured = true;
        }
        graph.on_side_stream.reset();
        c10::cuda::device_synchronize();
    })
#else
    (void)g; (void)capture;
    lt::set_error("this build of the LoraLab shim has no CUDA graphs");
    return -1;
#endif
}

LT_API int lt_cuda_graph_replay(void* g) {
#ifdef LORALAB_WITH_CUDA_GRAPHS
    LT_STATUS({
        Graph& graph = G(g);
        TORCH_CHECK(graph.captured, "replay of a CUDA graph that was never captured");
        graph.graph.replay();
    })
#else
    (void)g;
    lt::set_error("this build of the LoraLab shim has no CUDA graphs");
    return -1;
#endif
}

LT_API void lt_cuda_graph_free(void* g) {
#ifdef LORALAB_WITH_CUDA_GRAPHS
    delete static_cast<Graph*>(g);
#else
    (void)g;
#endif
}
