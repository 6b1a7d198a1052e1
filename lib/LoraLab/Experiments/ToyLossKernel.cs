using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Experiments;

/// <summary>
/// The toy run's training loss and its gradients with respect to LoRA's factors, computed on the CPU in float32. For a
/// row z of the adapted layer's inputs (and its cached W z):
/// <code>
///   h = relu(W z + s·B (A z)),   prediction = w_outᵀ h,   loss = mean over rows of (prediction − y)²
///   e = 2 (prediction − y) / N,   dh = e·w_out ⊙ [h &gt; 0],   dB += s·dh (A z)ᵀ,   dA += s·(Bᵀ dh) zᵀ
/// </code>
/// Why: libtorch computes a step as a dozen operations, each a pass over [N, n] intermediates in memory, and a toy step
/// is bound by that traffic, not by arithmetic (r = 4). Here the points are taken four at a time, and each of the four
/// stages above (A z; h and the prediction; the way back through B; the update of dA) is one pass over the four rows in
/// which every element of A, Bᵀ or their gradients that is loaded serves all four points: a row-by-row pass reloaded
/// the factors (r rows of n, past the L1 cache at these widths) for every point, and that bounded it
/// (docs/data.md). No [N, n] tensor is written; z and W z are read once from memory.
/// <see cref="ToyLossFunction"/> hands the result to autograd, so the trainer and the optimizer are the ones every run
/// uses. <c>./lab bench sweep --kernel</c> measures it against libtorch's step.
/// </summary>
internal static class ToyLossKernel
{
    /// <summary>True where the kernel computes a step: float32 features on the CPU, at least MinWidth wide.</summary>
    public static bool Applies(Tensor features) =>
        features.device_type == DeviceType.CPU && features.dtype == ScalarType.Float32 && features.shape[^1] >= MinWidth;

    /// <summary>The narrowest width measured: a whole 300-step run by the kernel against libtorch's step (<c>./lab bench
    /// sweep --kernel</c>, 2-core EPYC, 2026-12-05): 1.5x at n = 16, 1.75x at 32, 2.1x at 64, 6.4x at 4096 (docs/data.md).</summary>
    public const int MinWidth = 16;

    // Points per block: four rows of every stage's accumulators fit in registers beside the factors' vector.
    private const int Points = 4;
    // Columns per tile in the stages that re-read the block's rows once per rank: four rows of 256 floats (4 KiB) stay
    // in the L1 cache (512 measured the same).
    private const int Tile = 256;

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
        var za = new float[Points * r];
        var c = new float[Points * r];
        var dza = new float[Points * r];
        var h = new float[Points * n];
        var dh = new float[Points * Tile];
        var prediction = new float[Points];
        var e = new float[Points];
        double sumOfSquares = 0;
        for (int i = 0; i < rows; i += Points)
        {
            int count = Math.Min(Points, rows - i);
            // The last block, when N is not a multiple of four, is padded with rows of zeros: their h is relu(0) = 0, so
            // their dh is 0 (and their error e is set to 0 besides): they add nothing to the loss or the gradients.
            ReadOnlySpan<float> zBlock = z.Slice(i * n, count * n), wzBlock = wz.Slice(i * n, count * n);
            if (count < Points)
            {
                var (paddedZ, paddedWz) = (new float[Points * n], new float[Points * n]);
                zBlock.CopyTo(paddedZ);
                wzBlock.CopyTo(paddedWz);
                zBlock = paddedZ;
                wzBlock = paddedWz;
            }
            // Forward: A z, then h = relu(W z + s·B (A z)) and the prediction w_outᵀ h, for the four points.
            Project(zBlock, a, n, r, za);
            for (int q = 0; q < Points * r; q++) c[q] = scaling * za[q];
            Hidden(wzBlock, bt, c, wOut, n, r, h, prediction);
            for (int q = 0; q < Points; q++)
            {
                if (q >= count) { e[q] = 0; continue; }
                float error = prediction[q] - y[i + q];
                sumOfSquares += (double)error * error;
                e[q] = 2 * error / rows;
            }
            // Backward: e = 2 (prediction − y) / N, through relu and B, then A.
            BackThroughB(h, wOut, e, bt, c, n, r, dh, gradBt, dza);
            for (int q = 0; q < Points * r; q++) dza[q] *= scaling;
            AccumulateA(zBlock, dza, n, r, gradA);
        }
        return sumOfSquares / rows;
    }

    private static int W => Vector<float>.Count;

    // Loads and stores of one vector at element j, without a bounds check: every caller's loop keeps j + W within the row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> At(ReadOnlySpan<float> s, int j) => Vector.LoadUnsafe(ref MemoryMarshal.GetReference(s), (nuint)j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector<float> v, Span<float> s, int j) => v.StoreUnsafe(ref MemoryMarshal.GetReference(s), (nuint)j);

    // A fused multiply-add (one rounding); emulated, more slowly, on a CPU without an FMA unit.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Fma(Vector<float> x, Vector<float> y, Vector<float> add) => Vector.FusedMultiplyAdd(x, y, add);

    // za[q, k] = A_k · z_q for the block's four points.
    private static void Project(ReadOnlySpan<float> z, ReadOnlySpan<float> a, int n, int r, Span<float> za)
    {
        za.Clear();
        ReadOnlySpan<float> z0 = z.Slice(0, n), z1 = z.Slice(n, n), z2 = z.Slice(2 * n, n), z3 = z.Slice(3 * n, n);
        for (int t = 0; t < n; t += Tile)
        {
            int end = Math.Min(n, t + Tile);
            for (int k = 0; k < r; k++)
            {
                var ak = a.Slice(k * n, n);
                Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
                int j = t;
                for (; j <= end - W; j += W)
                {
                    var v = At(ak, j);
                    s0 = Fma(At(z0, j), v, s0); s1 = Fma(At(z1, j), v, s1); s2 = Fma(At(z2, j), v, s2); s3 = Fma(At(z3, j), v, s3);
                }
                float t0 = Vector.Sum(s0), t1 = Vector.Sum(s1), t2 = Vector.Sum(s2), t3 = Vector.Sum(s3);
                for (; j < end; j++) { t0 += z0[j] * ak[j]; t1 += z1[j] * ak[j]; t2 += z2[j] * ak[j]; t3 += z3[j] * ak[j]; }
                za[k] += t0; za[r + k] += t1; za[2 * r + k] += t2; za[3 * r + k] += t3;
            }
        }
    }

    // h_q = relu(W z_q + Σ_k c[q, k] Bᵀ_k), prediction_q = w · h_q.
    private static void Hidden(ReadOnlySpan<float> wz, ReadOnlySpan<float> bt, ReadOnlySpan<float> c, ReadOnlySpan<float> w, int n, int r,
                               Span<float> h, Span<float> prediction)
    {
        ReadOnlySpan<float> wz0 = wz.Slice(0, n), wz1 = wz.Slice(n, n), wz2 = wz.Slice(2 * n, n), wz3 = wz.Slice(3 * n, n);
        Span<float> h0 = h.Slice(0, n), h1 = h.Slice(n, n), h2 = h.Slice(2 * n, n), h3 = h.Slice(3 * n, n);
        Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int j = 0;
        for (; j <= n - W; j += W)
        {
            Vector<float> v0 = At(wz0, j), v1 = At(wz1, j), v2 = At(wz2, j), v3 = At(wz3, j);
            for (int k = 0; k < r; k++)
            {
                var b = At(bt, k * n + j);
                v0 = Fma(b, new Vector<float>(c[k]), v0); v1 = Fma(b, new Vector<float>(c[r + k]), v1);
                v2 = Fma(b, new Vector<float>(c[2 * r + k]), v2); v3 = Fma(b, new Vector<float>(c[3 * r + k]), v3);
            }
            var wj = At(w, j);
            v0 = Vector.Max(v0, Vector<float>.Zero); v1 = Vector.Max(v1, Vector<float>.Zero); v2 = Vector.Max(v2, Vector<float>.Zero); v3 = Vector.Max(v3, Vector<float>.Zero);
            Put(v0, h0, j); Put(v1, h1, j); Put(v2, h2, j); Put(v3, h3, j);
            s0 = Fma(v0, wj, s0); s1 = Fma(v1, wj, s1); s2 = Fma(v2, wj, s2); s3 = Fma(v3, wj, s3);
        }
        prediction[0] = Vector.Sum(s0); prediction[1] = Vector.Sum(s1); prediction[2] = Vector.Sum(s2); prediction[3] = Vector.Sum(s3);
        for (; j < n; j++)
            for (int q = 0; q < Points; q++)
            {
                float v = wz[q * n + j];
                for (int k = 0; k < r; k++) v += c[q * r + k] * bt[k * n + j];
                v = Math.Max(v, 0f);
                h[q * n + j] = v;
                prediction[q] += v * w[j];
            }
    }

    // dh_q = e_q w ⊙ [h_q > 0]; dBᵀ_k += Σ_q c[q, k] dh_q; dza[q, k] = Bᵀ_k · dh_q.
    private static void BackThroughB(ReadOnlySpan<float> h, ReadOnlySpan<float> w, ReadOnlySpan<float> e, ReadOnlySpan<float> bt, ReadOnlySpan<float> c,
                                     int n, int r, Span<float> dh, Span<float> gradBt, Span<float> dza)
    {
        dza.Clear();
        for (int t = 0; t < n; t += Tile)
        {
            int end = Math.Min(n, t + Tile), length = end - t;
            for (int q = 0; q < Points; q++)
            {
                ReadOnlySpan<float> hq = h.Slice(q * n, n);
                Span<float> dhq = dh.Slice(q * Tile, Tile);
                var eq = new Vector<float>(e[q]);
                int j = t;
                for (; j <= end - W; j += W)
                    Put(Vector.ConditionalSelect(Vector.GreaterThan(At(hq, j), Vector<float>.Zero), eq * At(w, j), Vector<float>.Zero), dhq, j - t);
                for (; j < end; j++) dhq[j - t] = hq[j] > 0 ? e[q] * w[j] : 0;
            }
            ReadOnlySpan<float> d0 = dh.Slice(0, Tile), d1 = dh.Slice(Tile, Tile), d2 = dh.Slice(2 * Tile, Tile), d3 = dh.Slice(3 * Tile, Tile);
            for (int k = 0; k < r; k++)
            {
                ReadOnlySpan<float> btk = bt.Slice(k * n, n);
                Span<float> gk = gradBt.Slice(k * n, n);
                var (c0, c1, c2, c3) = (new Vector<float>(c[k]), new Vector<float>(c[r + k]), new Vector<float>(c[2 * r + k]), new Vector<float>(c[3 * r + k]));
                Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
                int j = 0;
                for (; j <= length - W; j += W)
                {
                    var (b, v0, v1, v2, v3) = (At(btk, t + j), At(d0, j), At(d1, j), At(d2, j), At(d3, j));
                    s0 = Fma(v0, b, s0); s1 = Fma(v1, b, s1); s2 = Fma(v2, b, s2); s3 = Fma(v3, b, s3);
                    Put(Fma(v3, c3, Fma(v2, c2, Fma(v1, c1, Fma(v0, c0, At(gk, t + j))))), gk, t + j);
                }
                float t0 = Vector.Sum(s0), t1 = Vector.Sum(s1), t2 = Vector.Sum(s2), t3 = Vector.Sum(s3);
                for (; j < length; j++)
                {
                    float b = btk[t + j];
                    t0 += d0[j] * b; t1 += d1[j] * b; t2 += d2[j] * b; t3 += d3[j] * b;
                    gk[t + j] += c[k] * d0[j] + c[r + k] * d1[j] + c[2 * r + k] * d2[j] + c[3 * r + k] * d3[j];
                }
                dza[k] += t0; dza[r + k] += t1; dza[2 * r + k] += t2; dza[3 * r + k] += t3;
            }
        }
    }

    // dA_k += Σ_q d[q, k] z_q.
    private static void AccumulateA(ReadOnlySpan<float> z, ReadOnlySpan<float> d, int n, int r, Span<float> gradA)
    {
        ReadOnlySpan<float> z0 = z.Slice(0, n), z1 = z.Slice(n, n), z2 = z.Slice(2 * n, n), z3 = z.Slice(3 * n, n);
        for (int t = 0; t < n; t += Tile)
        {
            int end = Math.Min(n, t + Tile);
            for (int k = 0; k < r; k++)
            {
                var gk = gradA.Slice(k * n, n);
                var (c0, c1, c2, c3) = (new Vector<float>(d[k]), new Vector<float>(d[r + k]), new Vector<float>(d[2 * r + k]), new Vector<float>(d[3 * r + k]));
                int j = t;
                for (; j <= end - W; j += W)
                    Put(Fma(At(z3, j), c3, Fma(At(z2, j), c2, Fma(At(z1, j), c1, Fma(At(z0, j), c0, At(gk, j))))), gk, j);
                for (; j < end; j++) gk[j] += d[k] * z0[j] + d[r + k] * z1[j] + d[2 * r + k] * z2[j] + d[3 * r + k] * z3[j];
            }
        }
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

    /// <summary>A float32 CPU tensor's elements, in place (it must be contiguous).</summary>
    public static Span<float> Elements(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);
}
