using LoraLab.Torch.Native;

namespace LoraLab.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>How a loss combines its per-element values (libtorch's numbering).</summary>
        public enum Reduction { None = 0, Mean = 1, Sum = 2 }

        /// <summary>The stateless functions of torch.nn.functional.</summary>
        public static class functional
        {
            public static Tensor softmax(Tensor x, long dim) => x.softmax(dim);
            public static Tensor log_softmax(Tensor x, long dim) => x.log_softmax(dim);
            public static Tensor relu(Tensor x) => x.relu();
            public static Tensor gelu(Tensor x, string approximate = "none") => x.gelu(approximate);
            public static Tensor silu(Tensor x) => x.silu();

            /// <summary>x W^T + b, with W of shape [out, in].</summary>
            public static Tensor linear(Tensor x, Tensor weight, Tensor? bias = null) =>
                Checked.Tensor(NativeMethods.lt_linear(x.Handle, weight.Handle, bias?.Handle ?? IntPtr.Zero),
                               $"linear of input {x.ShapeText()} with weight {weight.ShapeText()}");

            /// <summary>Cross entropy of logits [N, C] (or [N, C, ...]) against class indices; targets equal to
            /// ignore_index count for nothing, as in PyTorch. The loss is always computed in float32 or wider:
            /// half-precision logits [N, C] go through cross_entropy_fp32 (no float32 copy of all logits),
            /// other half-precision cases are cast to float32 first.</summary>
            public static Tensor cross_entropy(Tensor logits, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean,
                                               long ignore_index = -100, double label_smoothing = 0)
            {
                bool half = logits.dtype is ScalarType.BFloat16 or ScalarType.Float16;
                if (half && weight is null && label_smoothing == 0 && logits.dim() == 2 && target.dim() == 1 && target.dtype == ScalarType.Int64)
                    return cross_entropy_fp32(logits, target, reduction, ignore_index);
                if (half)
                {
                    using var upcast = logits.to(ScalarType.Float32);
                    return cross_entropy(upcast, target, weight, reduction, ignore_index, label_smoothing);
                }
                return Checked.Tensor(NativeMethods.lt_cross_entropy(logits.Handle, target.Handle, weight?.Handle ?? IntPtr.Zero, (int)reduction, ignore_index, label_smoothing),
                                      $"cross_entropy of logits {logits.ShapeText()} and targets {target.ShapeText()} ({target.dtype})");
            }

            /// <summary>Cross entropy of logits [N, C] of any floating dtype against int64 targets [N], computed in
            /// float32 a chunk of rows at a time (chunk_rows; 0 picks about 64 MiB of float32 per chunk), so that no
            /// float32 copy of all logits is made or kept for backward. The result is float32; the gradient has the
            /// logits' dtype.</summary>
            public static Tensor cross_entropy_fp32(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean, long ignore_index = -100, long chunk_rows = 0) =>
                Checked.Tensor(NativeMethods.lt_cross_entropy_fp32(logits.Handle, target.Handle, (int)reduction, ignore_index, chunk_rows),
                               $"cross_entropy_fp32 of logits {logits.ShapeText()} ({logits.dtype}) and targets {target.ShapeText()} ({target.dtype})");

            public static Tensor mse_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                Checked.Tensor(NativeMethods.lt_mse_loss(input.Handle, target.Handle, (int)reduction),
                               $"mse_loss of {input.ShapeText()} and {target.ShapeText()}");

            public static Tensor binary_cross_entropy_with_logits(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                Checked.Tensor(NativeMethods.lt_binary_cross_entropy_with_logits(input.Handle, target.Handle, (int)reduction), "binary_cross_entropy_with_logits");

            /// <summary>Rows of weight picked by integer indices (an embedding lookup).</summary>
            public static Tensor embedding(Tensor indices, Tensor weight, long padding_idx = -1) =>
                Checked.Tensor(NativeMethods.lt_embedding(weight.Handle, indices.Handle, padding_idx),
                               $"embedding of indices {indices.ShapeText()} ({indices.dtype}) in a table {weight.ShapeText()}");

            /// <summary>Zeroes elements with probability p and scales the rest by 1/(1-p), when training.</summary>
            public static Tensor dropout(Tensor x, double p = 0.5, bool training = true)
            {
                if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
                return Checked.Tensor(NativeMethods.lt_dropout(x.Handle, p, training ? 1 : 0), "dropout");
            }

            public static unsafe Tensor layer_norm(Tensor x, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
            {
                fixed (long* s = normalized_shape)
                    return Checked.Tensor(NativeMethods.lt_layer_norm(x.Handle, s, normalized_shape.Length, weight?.Handle ?? IntPtr.Zero, bias?.Handle ?? IntPtr.Zero, eps),
                                          $"layer_norm of {x.ShapeText()} over {Tensor.ShapeText(normalized_shape)}");
            }

            /// <summary>softmax(q k^T * scale + mask) v, with q [.., L, E], k [.., S, E], v [.., S, Ev].
            /// Uses libtorch's fused kernel where it has one (2.1 and later) and the written-out
            /// formula otherwise. A boolean mask keeps the positions where it is true.</summary>
            public static Tensor scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask = null,
                                                              double dropout_p = 0, bool is_causal = false, double? scale = null) =>
                Checked.Tensor(NativeMethods.lt_scaled_dot_product_attention(query.Handle, key.Handle, value.Handle, attn_mask?.Handle ?? IntPtr.Zero,
                                                                             dropout_p, is_causal ? 1 : 0, scale ?? 0, out _),
                               $"scaled_dot_product_attention of q {query.ShapeText()}, k {key.ShapeText()}, v {value.ShapeText()}");

            /// <summary>Whether scaled_dot_product_attention runs a fused libtorch kernel in this build.</summary>
            public static bool has_fused_attention => version.major > 2 || (version.major == 2 && version.minor >= 1);

            /// <summary>The written-out attention formula, on every build (for comparing against the fused kernel).</summary>
            public static Tensor attention_reference(Tensor query, Tensor key, Tensor value, Tensor? attn_mask = null, bool is_causal = false, double? scale = null) =>
                Checked.Tensor(NativeMethods.lt_attention_reference(query.Handle, key.Handle, value.Handle, attn_mask?.Handle ?? IntPtr.Zero, is_causal ? 1 : 0, scale ?? 0),
                               "attention_reference");

            public static Tensor one_hot(Tensor indices, long num_classes = -1) =>
                Checked.Tensor(NativeMethods.lt_one_hot(indices.Handle, num_classes), "one_hot");
        }
    }
}
