// Views, reshapes, joins and indexing.
#include "shim.h"

using lt::T;
using lt::dims;

LT_API lt_tensor lt_view(lt_tensor x, const int64_t* shape, int ndim) { LT_TENSOR(T(x).view(dims(shape, ndim))) }

LT_API lt_tensor lt_reshape(lt_tensor x, const int64_t* shape, int ndim) { LT_TENSOR(T(x).reshape(dims(shape, ndim))) }

LT_API lt_tensor lt_expand(lt_tensor x, const int64_t* shape, int ndim) { LT_TENSOR(T(x).expand(dims(shape, ndim))) }

LT_API lt_tensor lt_repeat(lt_tensor x, const int64_t* repeats, int ndim) { LT_TENSOR(T(x).repeat(dims(repeats, ndim))) }

LT_API lt_tensor lt_permute(lt_tensor x, const int64_t* order, int ndim) { LT_TENSOR(T(x).permute(dims(order, ndim))) }

LT_API lt_tensor lt_transpose(lt_tensor x, int64_t dim0, int64_t dim1) { LT_TENSOR(T(x).transpose(dim0, dim1)) }

LT_API lt_tensor lt_flatten(lt_tensor x, int64_t start, int64_t end) { LT_TENSOR(T(x).flatten(start, end)) }

LT_API lt_tensor lt_unsqueeze(lt_tensor x, int64_t dim) { LT_TENSOR(T(x).unsqueeze(dim)) }

// squeeze(dim), or every size-1 dimension when all != 0.
LT_API lt_tensor lt_squeeze(lt_tensor x, int64_t dim, int all) { LT_TENSOR(all != 0 ? T(x).squeeze() : T(x).squeeze(dim)) }

LT_API lt_tensor lt_narrow(lt_tensor x, int64_t dim, int64_t start, int64_t length) { LT_TENSOR(T(x).narrow(dim, start, length)) }

// Python's x[start:end:step] along dim; end may be INT64_MAX for "to the end".
LT_API lt_tensor lt_slice(lt_tensor x, int64_t dim, int64_t start, int64_t end, int64_t step) {
    LT_TENSOR(T(x).slice(dim, start, end, step))
}

LT_API lt_tensor lt_select(lt_tensor x, int64_t dim, int64_t index) { LT_TENSOR(T(x).select(dim, index)) }

LT_API lt_tensor lt_index_select(lt_tensor x, int64_t dim, lt_tensor index) { LT_TENSOR(T(x).index_select(dim, T(index))) }

LT_API lt_tensor lt_gather(lt_tensor x, int64_t dim, lt_tensor index) { LT_TENSOR(T(x).gather(dim, T(index))) }

LT_API lt_tensor lt_scatter_add(lt_tensor x, int64_t dim, lt_tensor index, lt_tensor src) {
    LT_TENSOR(T(x).scatter_add(dim, T(index), T(src)))
}

// x[index] for a long (positions) or bool (mask) tensor, along the first dimension.
LT_API lt_tensor lt_index(lt_tensor x, lt_tensor index) {
    LT_TENSOR(T(x).index({T(index)}))
}

// x[index] = value, the assignment form of lt_index.
LT_API int lt_index_put_(lt_tensor x, lt_tensor index, lt_tensor value) {
    LT_STATUS(T(x).index_put_({T(index)}, T(value)))
}

LT_API lt_tensor lt_cat(const lt_tensor* tensors, int count, int64_t dim) {
    LT_TENSOR(at::cat(lt::tensor_list(tensors, count), dim))
}

LT_API lt_tensor lt_stack(const lt_tensor* tensors, int count, int64_t dim) {
    LT_TENSOR(at::stack(lt::tensor_list(tensors, count), dim))
}

LT_API lt_tensor lt_tril(lt_tensor x, int64_t diagonal) { LT_TENSOR(at::tril(T(x), diagonal)) }

LT_API lt_tensor lt_triu(lt_tensor x, int64_t diagonal) { LT_TENSOR(at::triu(T(x), diagonal)) }

LT_API lt_tensor lt_diag(lt_tensor x, int64_t diagonal) { LT_TENSOR(at::diag(T(x), diagonal)) }

LT_API lt_tensor lt_where(lt_tensor condition, lt_tensor a, lt_tensor b) { LT_TENSOR(at::where(T(condition), T(a), T(b))) }

LT_API lt_tensor lt_masked_fill(lt_tensor x, lt_tensor mask, double value) { LT_TENSOR(T(x).masked_fill(T(mask), value)) }

LT_API lt_tensor lt_clamp(lt_tensor x, double min, int has_min, double max, int has_max) {
    try {
        c10::optional<at::Scalar> lo = has_min != 0 ? c10::optional<at::Scalar>(min) : c10::nullopt;
        c10::optional<at::Scalar> hi = has_max != 0 ? c10::optional<at::Scalar>(max) : c10::nullopt;
        return lt::wrap(at::clamp(T(x), lo, hi));
    }
    LT_CATCH(nullptr)
}

LT_API lt_tensor lt_one_hot(lt_tensor x, int64_t num_classes) { LT_TENSOR(at::one_hot(T(x), num_classes)) }
