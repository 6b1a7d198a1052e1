using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Analysis;

/// <summary>
/// The synthetic problem of Jang, Lee &amp; Ryu (2024): N examples whose Jacobians G_i ∈ ℝ^{K×m×n} are i.i.d. Gaussian
/// (entries N(0, 1/(m n)), so that ⟨G_ik, δ⟩ has unit variance for ||δ||_F² = m n), f(x; W0) = 0, and labels read off a
/// planted low-rank δ* = U Vᵀ (U ∈ ℝ^{m×p}, V ∈ ℝ^{n×p} standard normal, scaled to ||δ*||_F² = m n):
/// y_i = argmax_k ⟨G_ik, δ*⟩ (K ≥ 2), or [⟨G_i, δ*⟩ &gt; 0] (K = 1). The classes are separable by a rank-p δ.
/// </summary>
public static class PlantedProblem
{
    public static LinearizedModel Create(int n_examples, int num_labels, int rows, int cols, int planted_rank, int seed)
    {
        if (n_examples < 1) throw new ArgumentOutOfRangeException(nameof(n_examples), n_examples, "N must be at least 1");
        if (num_labels < 1) throw new ArgumentOutOfRangeException(nameof(num_labels), num_labels, "K must be at least 1");
        if (rows < 1 || cols < 1) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows}x{cols}", "the matrix needs positive sizes");
        if (planted_rank < 1 || planted_rank > Math.Min(rows, cols))
            throw new ArgumentOutOfRangeException(nameof(planted_rank), planted_rank, $"the planted rank must be in [1, {Math.Min(rows, cols)}]");
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(seed);
        var g = torch.randn(new long[] { n_examples, num_labels, rows, cols }, ScalarType.Float64) / Math.Sqrt((double)rows * cols);
        var planted = torch.randn(new long[] { rows, planted_rank }, ScalarType.Float64)
            .mm(torch.randn(new long[] { planted_rank, cols }, ScalarType.Float64));
        planted = planted * (Math.Sqrt((double)rows * cols) / planted.norm().ToDouble());
        var scores = g.reshape(n_examples * num_labels, rows * cols).mv(planted.reshape(rows * cols)).view(n_examples, num_labels);
        var labels = num_labels == 1 ? scores.view(n_examples).gt(0).to(ScalarType.Int64) : scores.argmax(1);
        var zeros = torch.zeros(new long[] { n_examples, num_labels }, ScalarType.Float64);
        return new LinearizedModel(zeros, g, labels.data<long>().Select(y => (int)y).ToArray());
    }

    /// <summary>The rank bound of the theory: the largest r with r(r + 1)/2 ≤ K N. A solution of at most this rank exists.</summary>
    public static int RankBound(int n_examples, int num_labels)
    {
        int r = 0;
        while ((r + 1) * (r + 2) / 2 <= (long)n_examples * num_labels) r++;
        return r;
    }

    /// <summary>The smallest LoRA rank with r(r + 1)/2 &gt; K N: from there on, no spurious local minima.</summary>
    public static int Threshold(int n_examples, int num_labels) => RankBound(n_examples, num_labels) + 1;
}
