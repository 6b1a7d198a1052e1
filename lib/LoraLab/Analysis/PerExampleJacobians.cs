using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Analysis;

/// <summary>
/// The per-example Jacobians of a model's K output logits with respect to some of its weight matrices, at the
/// current weights: G[i, k] = ∂f_k(x_i) / ∂W (shape [N, K, m, n] for a weight W of shape [m, n]), and the logits
/// f(x_i) themselves. These are the features of the linearized (NTK) model f(x; W0 + δ) ≈ f(x; W0) + ⟨G(x), δ⟩.
/// </summary>
public sealed class PerExampleJacobians : IDisposable
{
    private PerExampleJacobians(Tensor logits, IReadOnlyList<Tensor> jacobians)
    {
        Logits = logits;
        Jacobians = jacobians;
    }

    /// <summary>f(x_i; W0): [N, K].</summary>
    public Tensor Logits { get; }

    /// <summary>One [N, K, m, n] tensor per weight, in the order the weights were given.</summary>
    public IReadOnlyList<Tensor> Jacobians { get; }

    /// <summary>
    /// Runs <paramref name="logitsOf"/> on chunks of the N examples (it gets their indices and returns [chunk, K]) and
    /// takes one vector-Jacobian product per output row: the gradient of logit (i, k) alone, through torch.autograd.grad
    /// with a one-hot seed. Examples do not interact in the forward (no batch norm), so a row of a chunk is the
    /// example's own Jacobian. Larger chunks make fewer, larger backward passes (N·K of them in all).
    /// The weights' requires_grad is switched on for the computation and restored afterwards.
    /// </summary>
    public static PerExampleJacobians Compute(Func<IReadOnlyList<int>, Tensor> logitsOf, int count, IReadOnlyList<Tensor> weights,
                                              int chunkSize = 16, ScalarType dtype = ScalarType.Float64)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Jacobians need at least one example");
        if (weights.Count == 0) throw new ArgumentException("name at least one weight to differentiate by", nameof(weights));
        if (chunkSize < 1) throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "the chunk size must be positive");
        var wasTrainable = weights.Select(w => w.requires_grad).ToArray();
        var logitRows = new List<Tensor>();
        var rows = weights.Select(_ => new List<Tensor>()).ToArray();     // per weight: one [K, m, n] per example
        try
        {
            foreach (var w in weights) w.requires_grad = true;
            for (int first = 0; first < count; first += chunkSize)
            {
                using var scope = torch.NewDisposeScope();
                var indices = Enumerable.Range(first, Math.Min(chunkSize, count - first)).ToList();
                var logits = logitsOf(indices);
                if (logits.dim() != 2 || logits.size(0) != indices.Count)
                    throw new InvalidOperationException($"logitsOf returned shape [{string.Join(", ", logits.shape)}] for {indices.Count} examples; expected [{indices.Count}, K]");
                long K = logits.size(1);
                for (int i = 0; i < indices.Count; i++)
                {
                    var perLogit = weights.Select(_ => new List<Tensor>()).ToArray();
                    for (long k = 0; k < K; k++)
                    {
                        var seed = OneHot(indices.Count, K, i, k, logits);
                        var grads = torch.autograd.grad(new[] { logits }, weights.ToList(), new[] { seed }, retain_graph: true, allow_unused: true);
                        for (int j = 0; j < weights.Count; j++)
                            perLogit[j].Add(grads[j] is { } g ? g.to(dtype) : torch.zeros(weights[j].shape, dtype, weights[j].device));
                    }
                    for (int j = 0; j < weights.Count; j++)
                        rows[j].Add(torch.stack(perLogit[j].ToArray(), 0).MoveToOuterDisposeScope());
                }
                logitRows.Add(logits.detach().to(dtype).MoveToOuterDisposeScope());
            }
            var jacobians = rows.Select(r => torch.stack(r.ToArray(), 0)).ToList();
            return new PerExampleJacobians(torch.cat(logitRows.ToArray(), 0), jacobians);
        }
        finally
        {
            for (int j = 0; j < weights.Count; j++) weights[j].requires_grad = wasTrainable[j];
            foreach (var t in logitRows) t.Dispose();
            foreach (var list in rows) foreach (var t in list) t.Dispose();
        }
    }

    private static Tensor OneHot(long rows, long cols, long i, long k, Tensor like)
    {
        var values = new double[rows * cols];
        values[i * cols + k] = 1;
        return torch.tensor(values, new[] { rows, cols }, like.dtype, like.device);
    }

    public void Dispose()
    {
        Logits.Dispose();
        foreach (var g in Jacobians) g.Dispose();
    }
}
