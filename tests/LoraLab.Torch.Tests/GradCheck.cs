using LoraLab.Torch;

namespace LoraLab.Torch.Tests;

/// <summary>
/// Compares autograd's gradients with central finite differences in float64, the way
/// torch.autograd.gradcheck does: for a random cotangent v, d&lt;v, f(x)&gt;/dx from backward
/// must match (&lt;v, f(x + h e_i)&gt; - &lt;v, f(x - h e_i)&gt;) / 2h for every element i.
/// </summary>
public static class GradCheck
{
    public static void Assert(Func<Tensor[], Tensor> f, params double[][] inputValues) => Assert(f, inputValues, null);

    public static void Assert(Func<Tensor[], Tensor> f, double[][] inputValues, long[][]? shapes, double h = 1e-6, double tolerance = 1e-5)
    {
        using var scope = torch.NewDisposeScope();
        shapes ??= inputValues.Select(v => new long[] { v.Length }).ToArray();
        var inputs = inputValues.Select((v, i) => torch.tensor(v, shapes[i], requires_grad: true)).ToArray();
        var output = f(inputs);
        torch.manual_seed(1234);
        var v = torch.randn(output.shape, torch.float64);
        var analytic = torch.autograd.grad(new[] { (output * v).sum() }, inputs, allow_unused: true)
                            .Select((g, i) => g?.data<double>() ?? new double[inputValues[i].Length]).ToArray();

        double Project(double[][] values)
        {
            using var inner = torch.NewDisposeScope();
            var ts = values.Select((x, i) => torch.tensor(x, shapes[i])).ToArray();
            return (f(ts) * v).sum().ToDouble();
        }

        for (int i = 0; i < inputValues.Length; i++)
        {
            for (int j = 0; j < inputValues[i].Length; j++)
            {
                var plus = inputValues.Select(a => (double[])a.Clone()).ToArray();
                var minus = inputValues.Select(a => (double[])a.Clone()).ToArray();
                plus[i][j] += h;
                minus[i][j] -= h;
                double numeric = (Project(plus) - Project(minus)) / (2 * h);
                double error = Math.Abs(numeric - analytic[i][j]);
                Xunit.Assert.True(error <= tolerance * (1 + Math.Abs(numeric)),
                    $"input {i}, element {j}: autograd {analytic[i][j]:G10}, finite difference {numeric:G10}");
            }
        }
    }

    /// <summary>Deterministic values in [-1, 1] away from 0 (so relu and abs stay differentiable).</summary>
    public static double[] Values(int count, int seed, double offset = 0)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            double x = random.NextDouble() * 1.6 - 0.8;
            return (x >= 0 ? x + 0.1 : x - 0.1) + offset;
        }).ToArray();
    }

    public static double[] Positive(int count, int seed) => Values(count, seed).Select(x => Math.Abs(x) + 0.2).ToArray();
}
