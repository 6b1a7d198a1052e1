// Elementwise arithmetic, comparisons and reductions.
//
// Families of operations share one entry point and an operation code, so the ABI stays
// small; the codes are mirrored by the enums in Native/OpCodes.cs (keep both in step).
#include "shim.h"

using lt::T;
using lt::dims;

enum Unary {
    NEG, ABS, EXP, LOG, SQRT, RSQRT, RELU, GELU, GELU_TANH, SILU, TANH, SIGMOID, SIGN,
    SQUARE, SIN, COS, FLOOR, CEIL, ROUND, RECIPROCAL, ERF, LOGICAL_NOT, ISNAN, ISINF,
    ISFINITE, LOG1P, EXPM1, LOG2
};

static at::Tensor unary(int op, const at::Tensor& x) {
    switch (op) {
        case NEG: return at::neg(x);
        case ABS: return at::abs(x);
        case EXP: return at::exp(x);
        case LOG: return at::log(x);
        case SQRT: return at::sqrt(x);
        case RSQRT: return at::rsqrt(x);
        case RELU: return at::relu(x);
        case GELU: return at::gelu(x);
        case GELU_TANH: return at::gelu(x, "tanh");
        case SILU: return at::silu(x);
        case TANH: return at::tanh(x);
        case SIGMOID: return at::sigmoid(x);
        case SIGN: return at::sign(x);
        case SQUARE: return at::square(x);
        case SIN: return at::sin(x);
        case COS: return at::cos(x);
        case FLOOR: return at::floor(x);
        case CEIL: return at::ceil(x);
        case ROUND: return at::round(x);
        case RECIPROCAL: return at::reciprocal(x);
        case ERF: return at::erf(x);
        case LOGICAL_NOT: return at::logical_not(x);
        case ISNAN: return at::isnan(x);
        case ISINF: return at::isinf(x);
        case ISFINITE: return at::isfinite(x);
        case LOG1P: return at::log1p(x);
        case EXPM1: return at::expm1(x);
        case LOG2: return at::log2(x);
    }
    TORCH_CHECK(false, "unknown unary operation code ", op);
}

static void unary_(int op, at::Tensor& x) {
    switch (op) {
        case NEG: x.neg_(); return;
        case ABS: x.abs_(); return;
        case EXP: x.exp_(); return;
        case LOG: x.log_(); return;
        case SQRT: x.sqrt_(); return;
        case RSQRT: x.rsqrt_(); return;
        case RELU: x.relu_(); return;
        case TANH: x.tanh_(); return;
        case SIGMOID: x.sigmoid_(); return;
        case SIGN: x.sign_(); return;
        case SQUARE: x.square_(); return;
        case FLOOR: x.floor_(); return;
        case RECIPROCAL: x.reciprocal_(); return;
    }
    TORCH_CHECK(false, "operation code ", op, " has no in-place form");
}

enum Binary {
    ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, EQ, NE, LT, LE, GT, GE, MATMUL, BMM,
    LOGICAL_AND, LOGICAL_OR, REMAINDER, ATAN2, FLOOR_DIVIDE, OUTER
};

static at::Tensor binary(int op, const at::Tensor& a, const at::Tensor& b) {
    switch (op) {
        case ADD: return at::add(a, b);
        case SUB: return at::sub(a, b);
        case MUL: return at::mul(a, b);
        case DIV: return at::div(a, b);
        case POW: return at::pow(a, b);
        case MAXIMUM: return at::maximum(a, b);
        case MINIMUM: return at::minimum(a, b);
        case EQ: return at::eq(a, b);
        case NE: return at::ne(a, b);
        case LT: return at::lt(a, b);
        case LE: return at::le(a, b);
        case GT: return at::gt(a, b);
        case GE: return at::ge(a, b);
        case MATMUL: return at::matmul(a, b);
        case BMM: return at::bmm(a, b);
        case LOGICAL_AND: return at::logical_and(a, b);
        case LOGICAL_OR: return at::logical_or(a, b);
        case REMAINDER: return at::remainder(a, b);
        case ATAN2: return at::atan2(a, b);
        case FLOOR_DIVIDE: return at::div(a, b, "floor");
        case OUTER: return at::outer(a, b);
    }
    TORCH_CHECK(false, "unknown binary operation code ", op);
}

// Tensor-scalar forms. RSUB, RDIV and RPOW put the scalar on the left (s - x, s / x, s ** x).
enum Scalar { S_ADD, S_SUB, S_MUL, S_DIV, S_POW, S_EQ, S_NE, S_LT, S_LE, S_GT, S_GE, S_RSUB, S_RDIV, S_RPOW, S_REMAINDER };

static at::Tensor scalar(int op, const at::Tensor& a, double s) {
    switch (op) {
        case S_ADD: return at::add(a, s);
        case S_SUB: return at::sub(a, s);
        case S_MUL: return at::mul(a, s);
        case S_DIV: return at::div(a, s);
        case S_POW: return at::pow(a, s);
        case S_EQ: return at::eq(a, s);
        case S_NE: return at::ne(a, s);
        case S_LT: return at::lt(a, s);
        case S_LE: return at::le(a, s);
        case S_GT: return at::gt(a, s);
        case S_GE: return at::ge(a, s);
        case S_RSUB: return at::rsub(a, s);
        case S_RDIV: return at::mul(at::reciprocal(a), s);
        case S_RPOW: return at::pow(s, a);
        case S_REMAINDER: return at::remainder(a, s);
    }
    TORCH_CHECK(false, "unknown scalar operation code ", op);
}

LT_API lt_tensor lt_unary(int op, lt_tensor x) { LT_TENSOR(unary(op, T(x))) }

LT_API int lt_unary_(int op, lt_tensor x) { LT_STATUS(unary_(op, T(x))) }

LT_API lt_tensor lt_binary(int op, lt_tensor a, lt_tensor b) { LT_TENSOR(binary(op, T(a), T(b))) }

LT_API lt_tensor lt_scalar(int op, lt_tensor a, double s) { LT_TENSOR(scalar(op, T(a), s)) }

// ---- in-place updates (what optimizers are made of) --------------------------------------

enum InPlace { I_ADD, I_SUB, I_MUL, I_DIV, I_COPY, I_MAXIMUM };

// a <op>= alpha * b  (alpha is used by ADD and SUB only)
LT_API int lt_inplace(int op, lt_tensor a, lt_tensor b, double alpha) {
    LT_STATUS({
        switch (op) {
            case I_ADD: T(a).add_(T(b), alpha); break;
            case I_SUB: T(a).sub_(T(b), alpha); break;
            case I_MUL: T(a).mul_(T(b)); break;
            case I_DIV: T(a).div_(T(b)); break;
            case I_COPY: T(a).copy_(T(b)); break;
            case I_MAXIMUM: at::maximum_out(T(a), T(a), T(b)); break;
            default: TORCH_CHECK(false, "unknown in-place operation code ", op);
        }
    })
}

enum InPlaceScalar { IS_ADD, IS_MUL, IS_DIV, IS_FILL, IS_POW, IS_CLAMP_MIN, IS_CLAMP_MAX };

LT_API int lt_inplace_scalar(int op, lt_tensor a, double s) {
    LT_STATUS({
        switch (op) {
            case IS_ADD: T(a).add_(s); break;
            case IS_MUL: T(a).mul_(s); break;
            case IS_DIV: T(a).div_(s); break;
            case IS_FILL: T(a).fill_(s); break;
            case IS_POW: T(a).pow_(s); break;
            case IS_CLAMP_MIN: T(a).clamp_min_(s); break;
            case IS_CLAMP_MAX: T(a).clamp_max_(s); break;
            default: TORCH_CHECK(false, "unknown in-place scalar operation code ", op);
        }
    })
}

LT_API int lt_addcmul_(lt_tensor self, lt_tensor a, lt_tensor b, double value) {
    LT_STATUS(T(self).addcmul_(T(a), T(b), value))
}

LT_API int lt_addcdiv_(lt_tensor self, lt_tensor a, lt_tensor b, double value) {
    LT_STATUS(T(self).addcdiv_(T(a), T(b), value))
}

LT_API int lt_lerp_(lt_tensor self, lt_tensor end, double weight) {
    LT_STATUS(T(self).lerp_(T(end), weight))
}

LT_API int lt_zero_(lt_tensor self) { LT_STATUS(T(self).zero_()) }

// ---- reductions ----------------------------------------------------------------------------

enum Reduce { R_SUM, R_MEAN, R_AMAX, R_AMIN, R_PROD, R_LOGSUMEXP, R_ALL, R_ANY };

// Reduces over `dims` (all dimensions when ndims == 0).
LT_API lt_tensor lt_reduce(int op, lt_tensor x, const int64_t* dim_list, int ndims, int keepdim) {
    try {
        const at::Tensor& t = T(x);
        bool keep = keepdim != 0;
        bool all = ndims == 0;
        auto d = dims(dim_list, ndims);
        switch (op) {
            case R_SUM: return lt::wrap(all ? t.sum() : t.sum(d, keep));
            case R_MEAN: return lt::wrap(all ? t.mean() : t.mean(d, keep));
            case R_AMAX: return lt::wrap(t.amax(d, keep));
            case R_AMIN: return lt::wrap(t.amin(d, keep));
            case R_PROD:
                TORCH_CHECK(ndims <= 1, "prod reduces over one dimension at a time");
                return lt::wrap(all ? t.prod() : t.prod(dim_list[0], keep));
            case R_LOGSUMEXP: {
                std::vector<int64_t> every;
                for (int64_t i = 0; i < t.dim(); i++) every.push_back(i);
                return lt::wrap(at::logsumexp(t, all ? at::IntArrayRef(every) : d, keep));
            }
            case R_ALL:
                TORCH_CHECK(ndims <= 1, "all reduces over one dimension at a time");
                return lt::wrap(all ? t.all() : t.all(dim_list[0], keep));
            case R_ANY:
                TORCH_CHECK(ndims <= 1, "any reduces over one dimension at a time");
                return lt::wrap(all ? t.any() : t.any(dim_list[0], keep));
        }
        TORCH_CHECK(false, "unknown reduction code ", op);
    }
    LT_CATCH(nullptr)
}

// Variance (or standard deviation when std != 0) with `correction` degrees of freedom removed.
LT_API lt_tensor lt_var(lt_tensor x, const int64_t* dim_list, int ndims, int64_t correction, int keepdim, int std) {
    try {
        c10::optional<at::IntArrayRef> d = ndims == 0 ? c10::nullopt : c10::optional<at::IntArrayRef>(dims(dim_list, ndims));
        bool keep = keepdim != 0;
        return lt::wrap(std != 0 ? at::std(T(x), d, correction, keep) : at::var(T(x), d, correction, keep));
    }
    LT_CATCH(nullptr)
}

// The vector p-norm over `dims` (all elements when ndims == 0).
LT_API lt_tensor lt_norm(lt_tensor x, double p, const int64_t* dim_list, int ndims, int keepdim) {
    try {
        c10::optional<at::IntArrayRef> d = ndims == 0 ? c10::nullopt : c10::optional<at::IntArrayRef>(dims(dim_list, ndims));
        return lt::wrap(at::linalg_vector_norm(T(x), p, d, keepdim != 0));
    }
    LT_CATCH(nullptr)
}

// max / min along a dimension, with the indices of the extrema.
LT_API int lt_max_dim(lt_tensor x, int64_t dim, int keepdim, int minimum, lt_tensor* values, lt_tensor* indices) {
    LT_STATUS({
        auto result = minimum != 0 ? at::min(T(x), dim, keepdim != 0) : at::max(T(x), dim, keepdim != 0);
        *values = lt::wrap(std::get<0>(result));
        *indices = lt::wrap(std::get<1>(result));
    })
}

// argmax / argmin; has_dim == 0 means over the flattened tensor.
LT_API lt_tensor lt_argmax(lt_tensor x, int64_t dim, int has_dim, int keepdim, int minimum) {
    try {
        c10::optional<int64_t> d = has_dim != 0 ? c10::optional<int64_t>(dim) : c10::nullopt;
        return lt::wrap(minimum != 0 ? at::argmin(T(x), d, keepdim != 0) : at::argmax(T(x), d, keepdim != 0));
    }
    LT_CATCH(nullptr)
}

LT_API lt_tensor lt_cumsum(lt_tensor x, int64_t dim) { LT_TENSOR(at::cumsum(T(x), dim)) }

LT_API int lt_sort(lt_tensor x, int64_t dim, int descending, lt_tensor* values, lt_tensor* indices) {
    LT_STATUS({
        auto result = at::sort(T(x), dim, descending != 0);
        *values = lt::wrap(std::get<0>(result));
        *indices = lt::wrap(std::get<1>(result));
    })
}

LT_API int lt_topk(lt_tensor x, int64_t k, int64_t dim, int largest, lt_tensor* values, lt_tensor* indices) {
    LT_STATUS({
        auto result = at::topk(T(x), k, dim, largest != 0, true);
        *values = lt::wrap(std::get<0>(result));
        *indices = lt::wrap(std::get<1>(result));
    })
}

LT_API int lt_allclose(lt_tensor a, lt_tensor b, double rtol, double atol) {
    try { return at::allclose(T(a), T(b), rtol, atol) ? 1 : 0; }
    LT_CATCH(-1)
}
