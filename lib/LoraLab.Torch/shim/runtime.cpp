// The runtime around tensors: CPU threads and CUDA devices, memory and synchronization.
//
// The CUDA memory statistics need c10_cuda, which only a CUDA build of libtorch has;
// CMake defines LORALAB_WITH_CUDA when it links one. On a CPU build they report 0.
#include "shim.h"

#include <ATen/Parallel.h>
#include <c10/core/Device.h>
#include <torch/cuda.h>

#ifdef LORALAB_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

LT_API int lt_get_num_threads() { return at::get_num_threads(); }

LT_API int lt_set_num_threads(int n) { LT_STATUS(at::set_num_threads(n)) }

LT_API int lt_cuda_is_available() { return torch::cuda::is_available() ? 1 : 0; }

LT_API int lt_cuda_device_count() { return static_cast<int>(torch::cuda::device_count()); }

LT_API int lt_has_cuda_build() {
#ifdef LORALAB_WITH_CUDA
    return 1;
#else
    return 0;
#endif
}

LT_API int lt_cuda_synchronize(int64_t device) { LT_STATUS(torch::cuda::synchronize(device)) }

// which: 0 bytes allocated now, 1 peak bytes allocated, 2 bytes reserved by the caching allocator.
LT_API int64_t lt_cuda_memory(int device, int which) {
#ifdef LORALAB_WITH_CUDA
    try {
        auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
        // Index 0 is the aggregate over small and large pools.
        switch (which) {
            case 0: return stats.allocated_bytes[0].current;
            case 1: return stats.allocated_bytes[0].peak;
            case 2: return stats.reserved_bytes[0].current;
        }
        TORCH_CHECK(false, "unknown memory statistic ", which);
    }
    LT_CATCH(-1)
#else
    (void)device;
    (void)which;
    return 0;
#endif
}

LT_API int lt_cuda_reset_peak_memory(int device) {
#ifdef LORALAB_WITH_CUDA
    LT_STATUS(c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device)))
#else
    (void)device;
    return 0;
#endif
}

LT_API int lt_cuda_empty_cache() {
#ifdef LORALAB_WITH_CUDA
    LT_STATUS(c10::cuda::CUDACachingAllocator::emptyCache())
#else
    return 0;
#endif
}
