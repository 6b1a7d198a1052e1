using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Analysis;

/// <summary>Where one optimization of a linearized model ended, and its objective along the way.</summary>
public sealed record LinearizedRun(double[,] Delta, double Objective, double Loss, double NuclearNorm,
                                   IReadOnlyList<(long step, double objective)> Curve, long Steps)
{
    public Tensor DeltaTensor() => torch.tensor(Delta);
}

/// <summary>
/// The two ways of fitting a linearized model that Jang, Lee &amp; Ryu (2024) compare:
/// the convex problem min_δ L(δ) + λ||δ||_* by proximal gradient descent, and LoRA, δ = B A with rank r, by full-batch
/// gradient descent on L(B A) + (λ/2)(||A||_F² + ||B||_F²). Both objectives have the same minimum value, because
/// ||δ||_* = min over B A = δ of (||A||_F² + ||B||_F²)/2 whenever r ≥ rank δ: the paper's theorem says that gradient
/// descent on the LoRA objective finds it when r(r + 1)/2 > K N.
/// </summary>
public static class LinearizedTraining
{
    /// <summary>
    /// Proximal gradient descent (ISTA): δ ← prox_{lr·λ}(δ − lr ∇L(δ)) from δ = 0, with prox = soft-thresholding of the
    /// singular values (<see cref="NuclearNorm.Prox"/>). Converges for lr &lt; 2 / <see cref="LinearizedModel.Smoothness"/>.
    /// </summary>
    public static LinearizedRun ConvexNuclearNorm(LinearizedModel model, double lambda, double lr, long steps, int logEvery = 10)
    {
        Check(lambda, lr, steps, logEvery);
        var delta = torch.zeros(new[] { model.Rows, model.Cols }, ScalarType.Float64);
        var curve = new List<(long, double)> { (0, model.Objective(delta, lambda)) };
        for (long step = 1; step <= steps; step++)
        {
            using (var scope = torch.NewDisposeScope())
            {
                var next = NuclearNorm.Prox(delta - model.Gradient(delta) * lr, lr * lambda).DetachFromDisposeScope();
                delta.Dispose();
                delta = next;
            }
            if (step % logEvery == 0 || step == steps) curve.Add((step, model.Objective(delta, lambda)));
        }
        return Finish(model, delta, lambda, curve, steps);
    }

    /// <summary>
    /// ||δ − prox(δ − lr ∇L(δ))|| / lr, the proximal-gradient residual: zero exactly at the convex optimum, so it says
    /// how far a run of <see cref="ConvexNuclearNorm"/> is from having converged.
    /// </summary>
    public static double ProxGradientResidual(LinearizedModel model, Tensor delta, double lambda, double lr)
    {
        using var scope = torch.NewDisposeScope();
        var moved = NuclearNorm.Prox(delta - model.Gradient(delta) * lr, lr * lambda);
        return (delta - moved).norm().ToDouble() / lr;
    }

    /// <summary>
    /// LoRA on the linearized model: δ = B A, B [m, r] = 0 and A [r, n] ~ N(0, initStd²) (Init[A]), full-batch
    /// gradient descent on L(B A) + (λ/2)(||A||² + ||B||²), both factors updated from the same point:
    /// B ← B − lr(∇L(δ) Aᵀ + λ B), A ← A − lr(Bᵀ ∇L(δ) + λ A). The weight decay is applied to the parameters (the
    /// paper's released code computes the decayed value into a local variable and never uses it).
    /// No α/r scaling: with it the penalty would no longer equal λ||δ||_* at the optimum.
    /// </summary>
    public static LinearizedRun Lora(LinearizedModel model, int r, double lambda, double lr, long steps, double initStd, int seed, int logEvery = 10)
    {
        Check(lambda, lr, steps, logEvery);
        if (r < 1) throw new ArgumentOutOfRangeException(nameof(r), r, "the LoRA rank r must be at least 1");
        if (!(initStd > 0)) throw new ArgumentOutOfRangeException(nameof(initStd), initStd, "A's initial standard deviation must be positive");
        torch.manual_seed(seed);
        var A = torch.randn(new[] { (long)r, model.Cols }, ScalarType.Float64) * initStd;
        var B = torch.zeros(new[] { model.Rows, (long)r }, ScalarType.Float64);
        double Penalized(Tensor a, Tensor b)
        {
            using var scope = torch.NewDisposeScope();
            double squares = a.square().sum().ToDouble() + b.square().sum().ToDouble();
            return model.Loss(b.mm(a)) + lambda / 2 * squares;
        }
        var curve = new List<(long, double)> { (0, Penalized(A, B)) };
        for (long step = 1; step <= steps; step++)
        {
            using (var scope = torch.NewDisposeScope())
            {
                var grad = model.Gradient(B.mm(A));
                var nextB = (B - (grad.mm(A.t()) + B * lambda) * lr).DetachFromDisposeScope();
                var nextA = (A - (B.t().mm(grad) + A * lambda) * lr).DetachFromDisposeScope();
                A.Dispose();
                B.Dispose();
                (A, B) = (nextA, nextB);
            }
            if (step % logEvery == 0 || step == steps)
            {
                double value = Penalized(A, B);
                curve.Add((step, value));
                if (!double.IsFinite(value)) break;     // diverged: the caller records it as such
            }
        }
        using var delta = B.mm(A);
        A.Dispose();
        B.Dispose();
        var run = Finish(model, delta.clone(), lambda, curve, curve[^1].Item1);
        // The LoRA objective itself (with the factor penalty) is what gradient descent minimized; it is ≥ the convex
        // objective of B A, and equal at a balanced optimum.
        return run with { Objective = curve[^1].Item2 };
    }

    private static LinearizedRun Finish(LinearizedModel model, Tensor delta, double lambda, List<(long, double)> curve, long steps)
    {
        using (delta)
        {
            bool finite = delta.isfinite().all().item<bool>();      // a diverged run has no spectrum to take
            double loss = finite ? model.Loss(delta) : double.NaN, nuclear = finite ? NuclearNorm.Of(delta) : double.NaN;
            var values = delta.contiguous().data<double>().ToArray();
            var matrix = new double[model.Rows, model.Cols];
            Buffer.BlockCopy(values, 0, matrix, 0, values.Length * sizeof(double));
            return new LinearizedRun(matrix, loss + lambda * nuclear, loss, nuclear, curve, steps);
        }
    }

    private static void Check(double lambda, double lr, long steps, int logEvery)
    {
        if (lambda < 0) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "λ must be non-negative");
        if (!(lr > 0)) throw new ArgumentOutOfRangeException(nameof(lr), lr, "the learning rate must be positive");
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be at least 1");
        if (logEvery < 1) throw new ArgumentOutOfRangeException(nameof(logEvery), logEvery, "logEvery must be at least 1");
    }
}
