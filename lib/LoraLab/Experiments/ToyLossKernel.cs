using System.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Experiments;

/// <summary>
/// The toy run's training loss and its gradients with respect to LoRA's factors, computed on the CPU in float32 one
/// training point at a time. For a row z of the adapted layer's inputs (and its cached W z):
/// <code>
///   h = W z + s·B (A z),   prediction = w_outᵀ relu(h),   loss = mean over rows of (prediction − y)²
///   e = 2 (prediction − y) / N,   dh = e·w_out ⊙ [h &gt; 0],   dB += s·dh (A z)ᵀ,   dA += s·(Bᵀ dh) zᵀ
/// </code>
/// Why: libtorch computes a step as a dozen operations, each a pass over [N, n] intermediates in memory, and a toy step
/// is bound by that traffic, not by arithmetic (r = 4). Here the backward of a row follows its forward while the row is
/// in the core's cache, so a step reads z and W z once and writes no [N, n] tensor (<c>./lab bench sweep --kernel</c>
/// measures the ratio: see <see cref="MinWidth"/>). <see cref="ToyLossFunction"/> hands the result to autograd, so the trainer and the
/// optimizer are the ones every run uses.
/// </summary>
internal static class ToyLossKernel
{
    /// <summary>True where the kernel computes a step: float32 features on the CPU, at least MinWidth wide.</summary>
    public static bool Applies(Tensor features) =>
        features.device_type == DeviceType.CPU && features.dtype == ScalarType.Float32 && features.shape[^1] >= MinWidth;

    /// <summary>Below this width libtorch's step is as fast. A whole 300-step run's speed-up by the kernel (<c>./lab bench
    /// sweep --kernel</c>, 2-core EPYC, 2026-12-05, the task's frozen parts cached): 0.90x at n = 64 (slower: the calls
    /// per row cost more than they save; measured before this threshold), 1.37x at 128, 2.2x at 256, 3.7x at 1024, 3.6x
    /// at 2048, 3.4x at 4096 (docs/data.md: what bounds it there).</summary>
    public const int MinWidth = 128;

    /// <summary>
    /// The mean squared error over the rows and its gradients. z and wz: [N, n] row-major; y: [N]; a: A, [r, n];
    /// bt: Bᵀ, [r, n]; wOut: [n]. Overwrites gradA and gradBt ([r, n] each: dA and dBᵀ).
    /// </summary>
    public static double LossAndGradients(ReadOnlySpan<float> z, ReadOnlySpan<float> wz, ReadOnlySpan<float> y,
                                          ReadOnlySpan<float> a, ReadOnlySpan<float> bt, float scaling, ReadOnlySpan<float> wOut,
                                          Span<float> gradA, Span<float> gradBt)
    {
        int n = wOut.Length, r = a.Length / n, rows = y.Length;
        gradA.Clear();
        gradBt.Clear();
        var za = new float[r];
        var h = new float[n];
        var dh = new float[n];
        double sumOfSquares = 0;
        for (int i = 0; i < rows; i++)
        {
            var zi = z.Slice(i * n, n);
            // Forward: A z, then h = W z + s·B (A z), then relu in place (relu(h) > 0 exactly where h > 0).
            for (int k = 0; k < r; k++) za[k] = TensorPrimitives.Dot(zi, a.Slice(k * n, n));
            wz.Slice(i * n, n).CopyTo(h);
            for (int k = 0; k < r; k++) TensorPrimitives.MultiplyAdd(bt.Slice(k * n, n), scaling * za[k], h, h);
            TensorPrimitives.Max(h, 0f, h);
            float error = TensorPrimitives.Dot(h, wOut) - y[i];
            sumOfSquares += (double)error * error;

            // Backward through the same row.
            ScaleWherePositive(h, wOut, 2 * error / rows, dh);
            for (int k = 0; k < r; k++)
            {
                Span<float> gradAk = gradA.Slice(k * n, n), gradBtk = gradBt.Slice(k * n, n);
                float dza = scaling * TensorPrimitives.Dot(dh, bt.Slice(k * n, n));
                TensorPrimitives.MultiplyAdd(dh, scaling * za[k], gradBtk, gradBtk);
                TensorPrimitives.MultiplyAdd(zi, dza, gradAk, gradAk);
            }
        }
        return sumOfSquares / rows;
    }

    /// <summary>The toy's LoRA feature sizes: the mean over rows of ‖A z‖ and of ‖B A z‖ (unscaled), as
    /// <c>ToyLora.Member.FeatureNorms</c> computes them with libtorch.</summary>
    public static (double normA, double normBA) FeatureNorms(ReadOnlySpan<float> z, ReadOnlySpan<float> a, ReadOnlySpan<float> bt, int n)
    {
        int r = a.Length / n, rows = z.Length / n;
        var za = new float[r];
        var ba = new float[n];
        double sumA = 0, sumBA = 0;
        for (int i = 0; i < rows; i++)
        {
            var zi = z.Slice(i * n, n);
            for (int k = 0; k < r; k++) za[k] = TensorPrimitives.Dot(zi, a.Slice(k * n, n));
            Array.Clear(ba);
            for (int k = 0; k < r; k++) TensorPrimitives.MultiplyAdd(bt.Slice(k * n, n), za[k], ba, ba);
            sumA += TensorPrimitives.Norm<float>(za);
            sumBA += TensorPrimitives.Norm<float>(ba);
        }
        return (sumA / rows, sumBA / rows);
    }

    // destination = scale·w where activation > 0, else 0: relu's backward times the output layer's weight.
    private static void ScaleWherePositive(ReadOnlySpan<float> activation, ReadOnlySpan<float> w, float scale, Span<float> destination)
    {
        int j = 0, width = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; j <= activation.Length - width; j += width)
            {
                var positive = Vector.GreaterThan(new Vector<float>(activation.Slice(j)), Vector<float>.Zero);
                Vector.ConditionalSelect(positive, new Vector<float>(w.Slice(j)) * scale, Vector<float>.Zero).CopyTo(destination.Slice(j));
            }
        for (; j < activation.Length; j++) destination[j] = activation[j] > 0 ? scale * w[j] : 0;
    }

    /// <summary>A float32 CPU tensor's elements, in place (it must be contiguous).</summary>
    public static Span<float> Elements(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);
}

/// <summary>
/// The toy's training loss as an autograd function of A ([r, n]) and B ([n, r]): forward runs
/// <see cref="ToyLossKernel"/>, which also yields the gradients, and backward hands them on (times the incoming gradient),
/// so <c>loss.backward()</c> fills A's and B's gradients as libtorch's own operations would.
/// Call as <c>ToyLossFunction.apply(A, B, inputs)</c>.
/// </summary>
internal sealed class ToyLossFunction : torch.autograd.SingleTensorFunction<ToyLossFunction>
{
    /// <summary>What the loss depends on besides A and B, fixed through a run: z and W z ([N, n]), y ([N, 1]),
    /// w_out's weight ([1, n]), all float32, contiguous, on the CPU; and LoRA's scaling s.</summary>
    public sealed record Inputs(Tensor z, Tensor wz, Tensor y, Tensor w_out, double scaling);

    public override string Name => nameof(ToyLossFunction);

    public override Tensor forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var (a, b, x) = ((Tensor)vars[0], (Tensor)vars[1], (Inputs)vars[2]);
        using var noGrad = torch.no_grad();
        using var aRows = a.contiguous();
        using var bt = b.t().contiguous();
        var gradA = torch.empty_like(aRows);
        using var gradBt = torch.empty_like(bt);
        double loss = ToyLossKernel.LossAndGradients(ToyLossKernel.Elements(x.z), ToyLossKernel.Elements(x.wz), ToyLossKernel.Elements(x.y),
                                                     ToyLossKernel.Elements(aRows), ToyLossKernel.Elements(bt), (float)x.scaling,
                                                     ToyLossKernel.Elements(x.w_out), ToyLossKernel.Elements(gradA), ToyLossKernel.Elements(gradBt));
        ctx.save_for_backward([gradA, gradBt.t().contiguous()]);
        return torch.tensor((float)loss);
    }

    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, Tensor grad_output)
    {
        var gradients = ctx.get_saved_variables();
        return [gradients[0] * grad_output, gradients[1] * grad_output, null!];
    }
}
