using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Analysis;

/// <summary>
/// A model linearized in one weight matrix (the NTK regime of Jang, Lee &amp; Ryu 2024):
/// f(x_i; δ) = f(x_i; W0) + ⟨G_i, δ⟩, with G_i ∈ ℝ^{K×m×n} the Jacobian of the K logits of example i with respect
/// to the weight at W0, and its summed cross-entropy loss L(δ) = Σ_i ℓ(f(x_i; δ), y_i). With K = 1 the single logit
/// is the log-odds of label 1 (logistic loss); with K ≥ 2 it is the softmax cross-entropy.
/// Everything is float64: the notebook compares objectives to 1e-6.
/// </summary>
public sealed class LinearizedModel : IDisposable
{
    private readonly Tensor f0;         // [N, K]
    private readonly Tensor g;          // [N·K, m·n]
    private readonly Tensor labels;     // [N] int64

    /// <param name="logits">f(x_i; W0), [N, K]</param>
    /// <param name="jacobians">G, [N, K, m, n]</param>
    /// <param name="labels">y_i in 0..K−1 (0 or 1 when K = 1)</param>
    public LinearizedModel(Tensor logits, Tensor jacobians, IReadOnlyList<int> labels)
    {
        if (jacobians.dim() != 4) throw new ArgumentException($"jacobians must be [N, K, m, n], got [{string.Join(", ", jacobians.shape)}]", nameof(jacobians));
        N = (int)jacobians.size(0);
        K = (int)jacobians.size(1);
        Rows = jacobians.size(2);
        Cols = jacobians.size(3);
        if (logits.dim() != 2 || logits.size(0) != N || logits.size(1) != K)
            throw new ArgumentException($"logits must be [{N}, {K}] to match the jacobians, got [{string.Join(", ", logits.shape)}]", nameof(logits));
        if (labels.Count != N) throw new ArgumentException($"{labels.Count} labels for {N} examples", nameof(labels));
        int classes = Math.Max(K, 2);
        if (labels.Any(y => y < 0 || y >= classes)) throw new ArgumentException($"labels must be in 0..{classes - 1}", nameof(labels));
        // Owned by this object, not by whatever dispose scope the caller is in.
        f0 = logits.detach().to(ScalarType.Float64).clone().DetachFromDisposeScope();
        g = jacobians.detach().to(ScalarType.Float64).reshape(N * K, Rows * Cols).contiguous().clone().DetachFromDisposeScope();
        this.labels = torch.tensor(labels.Select(y => (long)y).ToArray(), device: f0.device).DetachFromDisposeScope();
    }

    public int N { get; }
    public int K { get; }
    /// <summary>m and n: δ has the weight's shape [m, n].</summary>
    public long Rows { get; }
    public long Cols { get; }

    /// <summary>f(x; δ) for every example: [N, K].</summary>
    public Tensor Logits(Tensor delta) => f0 + g.mv(delta.reshape(Rows * Cols)).view(N, K);

    /// <summary>L(δ), the summed cross-entropy.</summary>
    public double Loss(Tensor delta)
    {
        using var scope = torch.NewDisposeScope();
        var logits = Logits(delta);
        if (K == 1) return F.binary_cross_entropy_with_logits(logits.view(N), labels.to(ScalarType.Float64), reduction: nn.Reduction.Sum).ToDouble();
        return F.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).ToDouble();
    }

    /// <summary>∇L(δ) = Σ_i Σ_k (p_ik − y_ik) G_ik, [m, n]: the softmax (or sigmoid) residual pulled back through G.</summary>
    public Tensor Gradient(Tensor delta)
    {
        using var scope = torch.NewDisposeScope();
        var logits = Logits(delta);
        var residual = K == 1
            ? logits.sigmoid() - labels.to(ScalarType.Float64).view(N, 1)
            : logits.softmax(1) - F.one_hot(labels, K).to(ScalarType.Float64);
        return g.t().mv(residual.reshape(N * K)).view(Rows, Cols).MoveToOuterDisposeScope();
    }

    /// <summary>L(δ) + λ ||δ||_*, the convex problem's objective.</summary>
    public double Objective(Tensor delta, double lambda) => Loss(delta) + lambda * NuclearNorm.Of(delta);

    /// <summary>The fraction of examples whose largest logit (K ≥ 2) or sign of the logit (K = 1) is the label.</summary>
    public double Accuracy(Tensor delta)
    {
        using var scope = torch.NewDisposeScope();
        var logits = Logits(delta);
        var predicted = K == 1 ? logits.view(N).gt(0).to(ScalarType.Int64) : logits.argmax(1);
        return predicted.eq(labels).to(ScalarType.Float64).mean().ToDouble();
    }

    /// <summary>
    /// λ_max = ||∇L(0)||_op: δ = 0 is optimal exactly when λ ≥ λ_max, so λ given as a fraction of λ_max means the same
    /// on every problem, whatever the scale of its Jacobians.
    /// </summary>
    public double LambdaMax()
    {
        using var scope = torch.NewDisposeScope();
        return Spectra.SingularValues(Gradient(torch.zeros(new[] { Rows, Cols }, ScalarType.Float64, f0.device)))[0];
    }

    /// <summary>
    /// ||P G||_op, the operator norm of the Jacobians that the loss can see: for K ≥ 2, P removes each example's mean over
    /// its K logits (softmax cross-entropy ignores a shift shared by all logits, and real Jacobians are often dominated by
    /// such a shift); for K = 1, P is the identity.
    /// </summary>
    public double OperatorNorm()
    {
        using var scope = torch.NewDisposeScope();
        var seen = K == 1 ? g : (g.view(N, K, Rows * Cols) - g.view(N, K, Rows * Cols).mean(new long[] { 1 }, keepdim: true)).reshape(N * K, Rows * Cols);
        return Spectra.SingularValues(seen)[0];
    }

    /// <summary>
    /// A Lipschitz constant of ∇L: ||P G||²_op (see <see cref="OperatorNorm"/>) times the curvature bound of the loss in
    /// the logits (¼ for the logistic loss, ½ for softmax cross-entropy, whose Hessian diag(p) − p pᵀ lives on the
    /// centred logits). Gradient descent is stable for step sizes below 2 / L.
    /// </summary>
    public double Smoothness()
    {
        double op = OperatorNorm();
        return op * op * (K == 1 ? 0.25 : 0.5);
    }

    public void Dispose()
    {
        f0.Dispose();
        g.Dispose();
        labels.Dispose();
    }
}
