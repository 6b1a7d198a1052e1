// Cross-entropy in float32 over half-precision logits, without a float32 copy of all logits.
//
// A bf16 (or fp16) model produces bf16 logits [N, V]; the loss must be computed in float32
// (a log-sum-exp over a 32k-word vocabulary in bf16 loses most of its digits). Casting all
// logits first costs a float32 [N, V] tensor that autograd then keeps for the backward pass
// (twice the logits' own memory). This autograd function instead walks the rows in chunks:
// each chunk is cast, reduced to its log-sum-exp and the target's logit, and dropped. The
// backward pass recomputes softmax − one_hot per chunk from the saved bf16 logits and the
// float32 log-sum-exps ([N] floats) and writes the gradient in the logits' dtype.
//
// Semantics are torch.nn.functional.cross_entropy's for class-index targets with ignore_index
// (mean over the targets that are not ignored; none; sum); no class weights, no label smoothing
// (the C# caller falls back to libtorch's own loss on float32 logits for those).
#include "shim.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

enum Reduction { kNone = 0, kMean = 1, kSum = 2 };

struct Fp32CrossEntropy : public torch::autograd::Function<Fp32CrossEntropy> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& target,
                              int64_t ignore_index, int64_t reduction, int64_t chunk_rows) {
        const int64_t n = logits.size(0);
        auto fp32 = logits.options().dtype(at::kFloat);
        at::Tensor valid = target.ne(ignore_index);
        at::Tensor safe_target = target.masked_fill(valid.logical_not(), 0);
        at::Tensor lse = at::empty({n}, fp32);
        at::Tensor losses = at::empty({n}, fp32);
        for (int64_t start = 0; start < n; start += chunk_rows) {
            int64_t rows = std::min(chunk_rows, n - start);
            at::Tensor l = logits.narrow(0, start, rows).to(at::kFloat);
            at::Tensor lse_chunk = at::logsumexp(l, {1});
            at::Tensor picked = l.gather(1, safe_target.narrow(0, start, rows).unsqueeze(1)).squeeze(1);
            lse.narrow(0, start, rows).copy_(lse_chunk);
            losses.narrow(0, start, rows).copy_(lse_chunk - picked);
        }
        losses.masked_fill_(valid.logical_not(), 0);
        at::Tensor count = valid.sum().to(at::kFloat);  // stays on the device: no synchronization
        ctx->save_for_backward({logits, safe_target, valid, lse, count});
        ctx->saved_data["reduction"] = reduction;
        ctx->saved_data["chunk_rows"] = chunk_rows;
        if (reduction == kNone) return losses;
        if (reduction == kSum) return losses.sum();
        return losses.sum() / count;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
        auto saved = ctx->get_saved_variables();
        const at::Tensor &logits = saved[0], &safe_target = saved[1], &valid = saved[2], &lse = saved[3], &count = saved[4];
        const int64_t reduction = ctx->saved_data["reduction"].toInt();
        const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
        const int64_t n = logits.size(0);
        at::Tensor upstream = grad_outputs[0].to(at::kFloat);
        // d loss / d loss_row, zero for ignored rows.
        at::Tensor row_scale = reduction == kNone ? upstream
                             : reduction == kSum  ? upstream.expand({n})
                                                  : (upstream / count).expand({n});
        row_scale = row_scale * valid.to(at::kFloat);
        at::Tensor grad = at::empty_like(logits);
        for (int64_t start = 0; start < n; start += chunk_rows) {
            int64_t rows = std::min(chunk_rows, n - start);
            at::Tensor p = (logits.narrow(0, start, rows).to(at::kFloat) - lse.narrow(0, start, rows).unsqueeze(1)).exp_();
            at::Tensor index = safe_target.narrow(0, start, rows).unsqueeze(1);
            p.scatter_add_(1, index, at::full({rows, 1}, -1.0, p.options()));
            p.mul_(row_scale.narrow(0, start, rows).unsqueeze(1));
            grad.narrow(0, start, rows).copy_(p);
        }
        return {grad, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

}  // namespace

// logits [N, C] of any floating dtype, target [N] int64. chunk_rows <= 0 picks chunks of about
// 16M float32 elements (64 MiB).
LT_API lt_tensor lt_cross_entropy_fp32(lt_tensor logits, lt_tensor target, int reduction, int64_t ignore_index,
                                       int64_t chunk_rows) {
    try {
        const at::Tensor& l = lt::T(logits);
        const at::Tensor& t = lt::T(target);
        TORCH_CHECK(l.dim() == 2, "cross_entropy_fp32 expects logits [N, C], got ", l.sizes());
        TORCH_CHECK(t.dim() == 1 && t.size(0) == l.size(0), "cross_entropy_fp32 expects targets [", l.size(0), "], got ", t.sizes());
        TORCH_CHECK(t.scalar_type() == at::kLong, "cross_entropy_fp32 expects int64 class indices, got ", t.scalar_type());
        TORCH_CHECK(at::isFloatingType(l.scalar_type()), "cross_entropy_fp32 expects floating logits, got ", l.scalar_type());
        TORCH_CHECK(reduction >= kNone && reduction <= kSum, "unknown reduction ", reduction);
        int64_t rows = chunk_rows > 0 ? chunk_rows : std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(1, l.size(1)));
        return lt::wrap(Fp32CrossEntropy::apply(l, t, ignore_index, static_cast<int64_t>(reduction), rows));
    }
    LT_CATCH(nullptr)
}
