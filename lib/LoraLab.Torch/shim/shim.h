// Shared helpers of the LoraLab native shim: a plain C ABI over libtorch.
//
// Conventions (the C# side in LoraLab.Torch relies on them):
//  * A tensor crosses the ABI as an opaque pointer to a heap-allocated at::Tensor.
//    The caller owns it and frees it with lt_free.
//  * No C++ exception crosses the ABI. Every entry point catches, stores the message
//    in a thread-local slot, and returns a failure value: nullptr for functions that
//    return a tensor, -1 for functions that return a status or count.
//    lt_take_error() hands the message to C# (which turns it into a managed exception).
//  * Enumerations (dtype, device type) use libtorch's own numbering, which is the same
//    in libtorch 1.13 and 2.x.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#define LT_API extern "C" __attribute__((visibility("default")))

using lt_tensor = at::Tensor*;

namespace lt {

void set_error(const std::string& message);

// The message of a c10::Error without the C++ stack trace that libtorch appends.
std::string describe(const c10::Error& e);

inline at::Tensor& T(lt_tensor t) { return *t; }

inline lt_tensor wrap(at::Tensor t) { return new at::Tensor(std::move(t)); }

// An optional tensor argument: nullptr means "absent".
inline c10::optional<at::Tensor> opt(lt_tensor t) {
    if (t == nullptr) return c10::nullopt;
    return *t;
}

inline at::IntArrayRef dims(const int64_t* values, int count) {
    return at::IntArrayRef(values, static_cast<size_t>(count));
}

inline at::TensorOptions options(int dtype, int device_type, int device_index) {
    return at::TensorOptions()
        .dtype(static_cast<at::ScalarType>(dtype))
        .device(static_cast<c10::DeviceType>(device_type), static_cast<c10::DeviceIndex>(device_index));
}

std::vector<at::Tensor> tensor_list(const lt_tensor* tensors, int count);

}  // namespace lt

// Body wrappers. LT_TENSOR returns the tensor an expression builds; LT_STATUS runs
// statements and returns 0, or -1 on failure.
#define LT_CATCH(failure)                                              \
    catch (const c10::Error& e) { lt::set_error(lt::describe(e)); }    \
    catch (const std::exception& e) { lt::set_error(e.what()); }       \
    catch (...) { lt::set_error("unknown native error"); }             \
    return failure;

#define LT_TENSOR(...)                  \
    try { return lt::wrap(__VA_ARGS__); } \
    LT_CATCH(nullptr)

#define LT_STATUS(...)                  \
    try { __VA_ARGS__; return 0; }      \
    LT_CATCH(-1)
