// Creating tensors, random numbers, and moving data between .NET memory and tensors.
#include "shim.h"

#include <cstring>

using lt::dims;
using lt::options;

LT_API lt_tensor lt_empty(const int64_t* shape, int ndim, int dtype, int dev, int dev_index, int requires_grad) {
    LT_TENSOR(at::empty(dims(shape, ndim), options(dtype, dev, dev_index)).requires_grad_(requires_grad != 0))
}

LT_API lt_tensor lt_full(const int64_t* shape, int ndim, double value, int dtype, int dev, int dev_index, int requires_grad) {
    LT_TENSOR(at::full(dims(shape, ndim), value, options(dtype, dev, dev_index)).requires_grad_(requires_grad != 0))
}

LT_API lt_tensor lt_randn(const int64_t* shape, int ndim, int dtype, int dev, int dev_index, int requires_grad) {
    LT_TENSOR(at::randn(dims(shape, ndim), options(dtype, dev, dev_index)).requires_grad_(requires_grad != 0))
}

LT_API lt_tensor lt_rand(const int64_t* shape, int ndim, int dtype, int dev, int dev_index, int requires_grad) {
    LT_TENSOR(at::rand(dims(shape, ndim), options(dtype, dev, dev_index)).requires_grad_(requires_grad != 0))
}

LT_API lt_tensor lt_randint(int64_t low, int64_t high, const int64_t* shape, int ndim, int dtype, int dev, int dev_index) {
    LT_TENSOR(at::randint(low, high, dims(shape, ndim), options(dtype, dev, dev_index)))
}

LT_API lt_tensor lt_randperm(int64_t n, int dtype, int dev, int dev_index) {
    LT_TENSOR(at::randperm(n, options(dtype, dev, dev_index)))
}

LT_API lt_tensor lt_arange(double start, double end, double step, int dtype, int dev, int dev_index) {
    LT_TENSOR(at::arange(start, end, step, options(dtype, dev, dev_index)))
}

LT_API lt_tensor lt_linspace(double start, double end, int64_t steps, int dtype, int dev, int dev_index) {
    LT_TENSOR(at::linspace(start, end, steps, options(dtype, dev, dev_index)))
}

LT_API lt_tensor lt_eye(int64_t n, int64_t m, int dtype, int dev, int dev_index) {
    LT_TENSOR(at::eye(n, m, options(dtype, dev, dev_index)))
}

// Seeds the CPU generator and, where present, every CUDA generator.
LT_API int lt_manual_seed(uint64_t seed) {
    LT_STATUS(at::manual_seed(seed))
}

// In-place initializers used by weight initialization schemes.
LT_API int lt_normal_(lt_tensor t, double mean, double std) {
    LT_STATUS(t->normal_(mean, std))
}

LT_API int lt_uniform_(lt_tensor t, double from, double to) {
    LT_STATUS(t->uniform_(from, to))
}

// A CPU tensor holding a copy of `data` (shape and dtype given). The copy means .NET may
// move or free its array as soon as the call returns.
LT_API lt_tensor lt_from_data(const void* data, const int64_t* shape, int ndim, int dtype) {
    LT_TENSOR(at::from_blob(const_cast<void*>(data), dims(shape, ndim),
                            at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)))
                  .clone())
}

// Copies the elements of t (any device, any layout) into `out`, which holds `count` elements
// of t's dtype. Fails if the sizes differ.
LT_API int lt_copy_to(lt_tensor t, void* out, int64_t count) {
    LT_STATUS({
        at::Tensor cpu = t->detach().to(at::kCPU).contiguous();
        TORCH_CHECK(cpu.numel() == count, "copy_to: the tensor has ", cpu.numel(),
                    " elements but the destination holds ", count);
        std::memcpy(out, cpu.data_ptr(), static_cast<size_t>(count) * cpu.element_size());
    })
}

// The address of a contiguous CPU tensor's first element, for zero-copy reads (safetensors).
LT_API void* lt_data_ptr(lt_tensor t) {
    try {
        TORCH_CHECK(t->device().is_cpu(), "data_ptr: the tensor is on ", t->device(), ", not the CPU");
        TORCH_CHECK(t->is_contiguous(), "data_ptr: the tensor is not contiguous");
        return t->data_ptr();
    }
    LT_CATCH(nullptr)
}

LT_API lt_tensor lt_to(lt_tensor t, int dtype, int dev, int dev_index, int non_blocking, int copy) {
    LT_TENSOR(t->to(options(dtype, dev, dev_index), non_blocking != 0, copy != 0))
}

LT_API lt_tensor lt_clone(lt_tensor t) { LT_TENSOR(t->clone()) }

LT_API lt_tensor lt_detach(lt_tensor t) { LT_TENSOR(t->detach()) }

LT_API lt_tensor lt_contiguous(lt_tensor t) { LT_TENSOR(t->contiguous()) }

// A second handle to the same tensor (shares storage and autograd identity).
LT_API lt_tensor lt_alias(lt_tensor t) { LT_TENSOR(*t) }
