// The neural-network functions a transformer and its losses need.
#include "shim.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

using lt::T;
using lt::opt;

LT_API lt_tensor lt_softmax(lt_tensor x, int64_t dim) { LT_TENSOR(at::softmax(T(x), dim)) }

LT_API lt_tensor lt_log_softmax(lt_tensor x, int64_t dim) { LT_TENSOR(at::log_softmax(T(x), dim)) }

LT_API lt_tensor lt_linear(lt_tensor x, lt_tensor weight, lt_tensor bias) { LT_TENSOR(at::linear(T(x), T(weight), opt(bias))) }

// reduction: 0 none, 1 mean, 2 sum (libtorch's at::Reduction numbering).
LT_API lt_tensor lt_cross_entropy(lt_tensor logits, lt_tensor target, lt_tensor weight, int reduction,
                                  int64_t ignore_index, double label_smoothing) {
    LT_TENSOR(at::cross_entropy_loss(T(logits), T(target), opt(weight), reduction, ignore_index, label_smoothing))
}

LT_API lt_tensor lt_mse_loss(lt_tensor input, lt_tensor target, int reduction) {
    LT_TENSOR(at::mse_loss(T(input), T(target), reduction))
}

LT_API lt_tensor lt_binary_cross_entropy_with_logits(lt_tensor input, lt_tensor target, int reduction) {
    LT_TENSOR(at::binary_cross_entropy_with_logits(T(input), T(target), c10::nullopt, c10::nullopt, reduction))
}

LT_API lt_tensor lt_embedding(lt_tensor weight, lt_tensor indices, int64_t padding_idx) {
    LT_TENSOR(at::embedding(T(weight), T(indices), padding_idx))
}

// p = 0 (or evaluation) is the identity: no mask is drawn and nothing is recorded for autograd.
LT_API lt_tensor lt_dropout(lt_tensor x, double p, int train) {
    LT_TENSOR(p == 0 || train == 0 ? T(x) : at::dropout(T(x), p, true))
}

LT_API lt_tensor lt_layer_norm(lt_tensor x, const int64_t* shape, int ndim, lt_tensor weight, lt_tensor bias, double eps) {
    LT_TENSOR(at::layer_norm(T(x), lt::dims(shape, ndim), opt(weight), opt(bias), eps))
}

// Attention written out, for libtorch builds without a fused kernel (1.13): the reference
// semantics of torch.nn.functional.scaled_dot_product_attention.
static at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                      const c10::optional<at::Tensor>& mask, double dropout_p, bool is_causal,
                                      double scale, bool train) {
    auto scores = at::matmul(q, k.transpose(-2, -1)) * scale;
    if (is_causal) {
        auto L = q.size(-2), S = k.size(-2);
        auto causal = at::ones({L, S}, q.options().dtype(at::kBool)).tril();
        scores = scores.masked_fill(causal.logical_not(), -std::numeric_limits<double>::infinity());
    }
    if (mask.has_value()) {
        if (mask->scalar_type() == at::kBool)
            scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<double>::infinity());
        else
            scores = scores + *mask;
    }
    auto weights = at::softmax(scores, -1);
    if (dropout_p > 0) weights = at::dropout(weights, dropout_p, train);
    return at::matmul(weights, v);
}

// scale <= 0 means the default 1/sqrt(head dimension). Returns which path ran in *fused.
LT_API lt_tensor lt_scaled_dot_product_attention(lt_tensor q, lt_tensor k, lt_tensor v, lt_tensor mask,
                                                 double dropout_p, int is_causal, double scale, int* fused) {
    try {
        double s = scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(T(q).size(-1)));
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
        *fused = 1;
        return lt::wrap(at::scaled_dot_product_attention(T(q), T(k), T(v), opt(mask), dropout_p, is_causal != 0,
                                                         c10::optional<double>(s)));
#else
        *fused = 0;
        return lt::wrap(attention_reference(T(q), T(k), T(v), opt(mask), dropout_p, is_causal != 0, s, dropout_p > 0));
#endif
    }
    LT_CATCH(nullptr)
}

// The written-out attention on every build, so tests can compare the fused kernel against it.
LT_API lt_tensor lt_attention_reference(lt_tensor q, lt_tensor k, lt_tensor v, lt_tensor mask, int is_causal, double scale) {
    try {
        double s = scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(T(q).size(-1)));
        return lt::wrap(attention_reference(T(q), T(k), T(v), opt(mask), 0.0, is_causal != 0, s, false));
    }
    LT_CATCH(nullptr)
}
