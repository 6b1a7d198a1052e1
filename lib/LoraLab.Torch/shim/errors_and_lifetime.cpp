// Error slot, tensor lifetime and metadata: what every other entry point builds on.
#include "shim.h"

#include <cstring>
#include <sstream>

namespace lt {

thread_local std::string last_error;
thread_local bool has_error = false;

void set_error(const std::string& message) {
    last_error = message;
    has_error = true;
}

std::string describe(const c10::Error& e) {
    // what_without_backtrace keeps libtorch's message and drops the C++ frames,
    // which mean nothing to a C# user.
    return e.what_without_backtrace();
}

std::vector<at::Tensor> tensor_list(const lt_tensor* tensors, int count) {
    std::vector<at::Tensor> list;
    list.reserve(count);
    for (int i = 0; i < count; i++) list.push_back(*tensors[i]);
    return list;
}

}  // namespace lt

// Copies the pending error message into buffer (truncated to capacity) and clears it.
// Returns the full length of the message, or 0 when no error is pending.
LT_API int lt_take_error(char* buffer, int capacity) {
    if (!lt::has_error) return 0;
    int length = static_cast<int>(lt::last_error.size());
    if (buffer != nullptr && capacity > 0) {
        int n = length < capacity - 1 ? length : capacity - 1;
        std::memcpy(buffer, lt::last_error.data(), n);
        buffer[n] = '\0';
    }
    lt::has_error = false;
    return length;
}

LT_API void lt_free(lt_tensor t) { delete t; }

LT_API int lt_version(int* major, int* minor, int* patch) {
    *major = TORCH_VERSION_MAJOR;
    *minor = TORCH_VERSION_MINOR;
    *patch = TORCH_VERSION_PATCH;
    return 0;
}

// ---- metadata -------------------------------------------------------------------------

LT_API int lt_dim(lt_tensor t) { return static_cast<int>(t->dim()); }

LT_API int lt_shape(lt_tensor t, int64_t* out) {
    auto sizes = t->sizes();
    for (size_t i = 0; i < sizes.size(); i++) out[i] = sizes[i];
    return static_cast<int>(sizes.size());
}

LT_API int lt_dtype(lt_tensor t) { return static_cast<int>(t->scalar_type()); }

LT_API int lt_device(lt_tensor t, int* index) {
    *index = t->device().index();
    return static_cast<int>(t->device().type());
}

LT_API int lt_requires_grad(lt_tensor t) { return t->requires_grad() ? 1 : 0; }

LT_API int lt_is_leaf(lt_tensor t) { return t->is_leaf() ? 1 : 0; }

LT_API int lt_is_contiguous(lt_tensor t) { return t->is_contiguous() ? 1 : 0; }

LT_API int lt_set_requires_grad(lt_tensor t, int requires_grad) {
    LT_STATUS(t->requires_grad_(requires_grad != 0))
}

LT_API int lt_item(lt_tensor t, double* out) {
    LT_STATUS(*out = t->item<double>())
}

LT_API int lt_item_long(lt_tensor t, int64_t* out) {
    LT_STATUS(*out = t->item<int64_t>())
}

// The text libtorch prints for a tensor, in a malloc'ed string the caller frees with lt_free_string.
LT_API char* lt_to_string(lt_tensor t) {
    try {
        std::ostringstream stream;
        stream << *t;
        return strdup(stream.str().c_str());
    }
    LT_CATCH(nullptr)
}

LT_API void lt_free_string(char* s) { free(s); }
