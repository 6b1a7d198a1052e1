using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Modules;

/// <summary>
/// Cross-entropy in float32 over half-precision logits, without a float32 copy of all of them. A bf16 model's logits
/// [N, V] must be reduced in float32 (a log-sum-exp over the vocabulary in bf16 loses most of its digits); casting them
/// all first costs a float32 [N, V] tensor that autograd then keeps for backward, twice the logits' own memory. This
/// walks the rows in chunks instead: each chunk is cast, reduced to its log-sum-exp and the target's logit, and dropped;
/// backward recomputes softmax − one_hot chunk by chunk from the saved bf16 logits and the float32 log-sum-exps.
/// Semantics are F.cross_entropy's for class-index targets with ignore_index (mean over the targets not ignored, sum,
/// or none). Float32 and float64 logits go straight to F.cross_entropy.
/// </summary>
public static class CrossEntropyFp32
{
    /// <summary>Rows cast to float32 at a time: 4096 rows of a 32k vocabulary are 512 MB.</summary>
    public const long ChunkRows = 4096;

    public static Tensor Loss(Tensor logits, Tensor target, long ignore_index = -100, nn.Reduction reduction = nn.Reduction.Mean)
    {
        if (logits.dtype is ScalarType.Float32 or ScalarType.Float64)
            return F.cross_entropy(logits, target, ignore_index: ignore_index, reduction: reduction);
        if (logits.dim() != 2 || target.dim() != 1 || target.size(0) != logits.size(0))
            throw new ArgumentException($"cross-entropy needs logits [N, V] and targets [N], got [{string.Join(", ", logits.shape)}] and [{string.Join(", ", target.shape)}]");
        return Function.apply(logits, target, ignore_index, (long)reduction);
    }

    private sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "CrossEntropyFp32";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (logits, target, ignore, reduction) = ((Tensor)vars[0], (Tensor)vars[1], (long)vars[2], (nn.Reduction)(long)vars[3]);
            long n = logits.size(0);
            var valid = target.ne(ignore);
            var safeTarget = target.masked_fill(valid.logical_not(), 0);
            var lse = torch.empty(n, ScalarType.Float32, logits.device);
            var losses = torch.empty(n, ScalarType.Float32, logits.device);
            for (long start = 0; start < n; start += ChunkRows)
            {
                using var scope = torch.NewDisposeScope();
                long rows = Math.Min(ChunkRows, n - start);
                var l = logits.narrow(0, start, rows).to(ScalarType.Float32);
                var chunkLse = l.logsumexp(1);
                var picked = l.gather(1, safeTarget.narrow(0, start, rows).unsqueeze(1)).squeeze(1);
                lse.narrow(0, start, rows).copy_(chunkLse);
                losses.narrow(0, start, rows).copy_(chunkLse - picked);
            }
            losses.masked_fill_(valid.logical_not(), 0);
            var count = valid.sum().to(ScalarType.Float32);     // stays on the device: no synchronization
            ctx.save_for_backward(new() { logits, safeTarget, valid, lse, count });
            ctx.save_data("reduction", reduction);
            return reduction switch
            {
                nn.Reduction.None => losses,
                nn.Reduction.Sum => losses.sum(),
                _ => losses.sum() / count,
            };
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var saved = ctx.get_saved_variables();
            var (logits, safeTarget, valid, lse, count) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
            var reduction = (nn.Reduction)ctx.get_data("reduction");
            long n = logits.size(0);
            // d loss_i / d logits_i = softmax_i − one_hot(target_i), times the upstream gradient of row i (zero where ignored).
            var rowScale = valid.to(ScalarType.Float32) * grad_output.to(ScalarType.Float32);
            if (reduction == nn.Reduction.Mean) rowScale = rowScale / count;
            var grad = torch.empty_like(logits);
            for (long start = 0; start < n; start += ChunkRows)
            {
                using var scope = torch.NewDisposeScope();
                long rows = Math.Min(ChunkRows, n - start);
                var softmax = (logits.narrow(0, start, rows).to(ScalarType.Float32) - lse.narrow(0, start, rows).unsqueeze(1)).exp();
                softmax.scatter_add_(1, safeTarget.narrow(0, start, rows).unsqueeze(1), torch.full(new[] { rows, 1L }, -1.0, ScalarType.Float32, logits.device));
                grad.narrow(0, start, rows).copy_(softmax * rowScale.narrow(0, start, rows).unsqueeze(1));
            }
            // One entry per argument of apply (logits, target, ignore_index, reduction): only the logits have a gradient.
            return new List<Tensor> { grad, null!, null!, null! };
        }
    }
}
