using Xunit.Abstractions;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests.Parity;

/// <summary>
/// AdamW, SGD and Lion against torch.optim.AdamW / torch.optim.SGD (PyTorch 1.13, the single-tensor loops) and Lion as
/// lucidrains/lion-pytorch writes the paper's update: five parameters of different shapes in two groups with different lr
/// and weight decay, six steps of fixed gradients that reach the parameters through backward (so they go through the
/// optimizer's flat gradient buffer), with the lr rescaled between steps as a schedule does.
/// </summary>
[Collection(PyTorchParityCollection.Name)]
public class OptimizerParityTests(PyTorchReference py, ITestOutputHelper log)
{
    private static readonly (string name, long[] shape, int group)[] Parameters =
    {
        ("w1", new long[] { 3, 4 }, 0), ("b1", new long[] { 5 }, 0), ("w2", new long[] { 2, 3, 2 }, 0),
        ("w3", new long[] { 4, 2 }, 1), ("b3", new long[] { 3 }, 1),
    };
    private static readonly double[] LrFactors = { 1, 0.5, 1, 0.25, 0.8, 1 };

    // float64: the same elementwise operations in the same order on both sides; what can differ is how a fused kernel
    // (addcdiv, addcmul) or a vectorized sqrt rounds, a few units of 2^-52 per step, compounding over six steps.
    private const double Float64 = 1e-12;

    /// <summary>Runs the optimizer here and in PyTorch and compares the parameters after every step.</summary>
    private void Compare(string kind, Func<List<ParamGroup>, Optimizer> make, object hyper, (double lr, double wd)[] groups,
                         ScalarType dtype = ScalarType.Float64, int seed = 301)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(seed);
        var initial = Parameters.ToDictionary(p => p.name, p => torch.randn(p.shape, ScalarType.Float64).to(dtype));
        var grads = LrFactors.Select(_ => Parameters.ToDictionary(p => p.name, p => torch.randn(p.shape, ScalarType.Float64).to(dtype))).ToList();
        var parameters = initial.ToDictionary(kv => kv.Key, kv => kv.Value.clone().requires_grad_());
        var paramGroups = groups.Select((g, i) => new ParamGroup(Parameters.Where(p => p.group == i).Select(p => parameters[p.name]), g.lr, g.wd)).ToList();
        using var optimizer = make(paramGroups);
        var after = new List<Tensor>();
        for (int step = 0; step < LrFactors.Length; step++)
        {
            optimizer.zero_grad();
            var loss = Parameters.Select(p => (parameters[p.name] * grads[step][p.name]).sum()).Aggregate((a, b) => a + b);
            loss.backward();                                              // dL/dp = g exactly
            optimizer.SetLrFactor(LrFactors[step]);
            optimizer.step();
            after.Add(torch.cat(Parameters.Select(p => parameters[p.name].detach().reshape(-1)).ToList()));
        }

        var inputs = new Dictionary<string, Tensor>();
        foreach (var (name, t) in initial) inputs["p." + name] = t;
        for (int step = 0; step < grads.Count; step++)
            foreach (var (name, g) in grads[step]) inputs[$"g.{step}.{name}"] = g;
        using var expected = py.Call("optimizer", inputs, new
        {
            kind, hyper, lr_factors = LrFactors, mode = dtype == ScalarType.BFloat16 ? "bf16" : "float64",
            groups = groups.Select((g, i) => new { @params = Parameters.Where(p => p.group == i).Select(p => p.name).ToArray(), g.lr, weight_decay = g.wd }).ToArray(),
        });
        for (int step = 0; step < LrFactors.Length; step++)
        {
            var reference = torch.cat(Parameters.Select(p => expected[$"p.{step}.{p.name}"].reshape(-1)).ToList());
            Assert.Equal(dtype, reference.dtype);
            if (dtype == ScalarType.BFloat16)
                // The float32 master copies may differ in their last float32 bits (a fused addcdiv or a sqrt rounded
                // another way); where a master value sits near the midpoint of two bf16 values, rounding then picks the
                // neighbour: one bf16 ulp, never more.
                Check.WithinBf16Ulps(log, $"{kind} bf16, step {step + 1}", after[step], reference, ulps: 1);
            else
                Check.Close(log, $"{kind}, step {step + 1}", after[step], reference, Float64);
        }
    }

    private static readonly (double, double)[] TwoGroups = { (0.1, 0.05), (0.03, 0.0) };

    [PyTorchFact]
    public void AdamW_with_weight_decay_matches_torch_optim_AdamW() =>
        Compare("adamw", g => new AdamW(g, beta1: 0.9, beta2: 0.99, eps: 1e-8), new { beta1 = 0.9, beta2 = 0.99, eps = 1e-8 }, TwoGroups);

    [PyTorchTheory]
    [InlineData(0.0, 0.0, false)]
    [InlineData(0.9, 0.0, false)]
    [InlineData(0.9, 0.3, false)]
    [InlineData(0.8, 0.0, true)]
    public void SGD_with_momentum_dampening_nesterov_and_weight_decay_matches_torch_optim_SGD(double momentum, double dampening, bool nesterov) =>
        Compare("sgd", g => new SGD(g, momentum, dampening, nesterov), new { momentum, dampening, nesterov }, new[] { (0.1, 0.05), (0.03, 0.01) });

    [PyTorchFact]
    public void Lion_matches_the_update_of_lucidrains_lion_pytorch() =>
        Compare("lion", g => new Lion(g, beta1: 0.9, beta2: 0.99), new { beta1 = 0.9, beta2 = 0.99 }, new[] { (0.01, 0.1), (0.003, 0.0) });

    [PyTorchTheory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    [InlineData("lion")]
    public void Bf16_parameters_match_PyTorch_stepping_a_float32_master_copy_and_rounding_into_bf16(string kind)
    {
        object hyper = kind switch
        {
            "adamw" => new { beta1 = 0.9, beta2 = 0.99, eps = 1e-8 },
            "sgd" => new { momentum = 0.9, dampening = 0.0, nesterov = false },
            _ => new { beta1 = 0.9, beta2 = 0.99 },
        };
        Func<List<ParamGroup>, Optimizer> make = kind switch
        {
            "adamw" => g => new AdamW(g, beta1: 0.9, beta2: 0.99, eps: 1e-8),
            "sgd" => g => new SGD(g, momentum: 0.9),
            _ => g => new Lion(g, beta1: 0.9, beta2: 0.99),
        };
        // Without a float32 master copy (rounding into bf16 after every step) about half of these parameters would end
        // elsewhere after six steps (checked in PyTorch: 19 and 24 of 40 for AdamW at these rates), so the comparison also
        // shows that the master copy is there.
        Compare(kind, make, hyper, new[] { (0.02, 0.1), (0.005, 0.0) }, ScalarType.BFloat16, seed: 302);
    }

    /// <summary>
    /// Optimizer.clip_grad_norm_ and Optimizer.ClipGradNorm against torch.nn.utils.clip_grad_norm_: the norm before
    /// clipping and the gradients after, for a max_norm that clips and one that does not. float64: 1e-12. float32:
    /// PyTorch 1.13 sums the squares in float32, LoraLab in float64, so the norm and the coefficient max_norm/(norm + 1e-6)
    /// differ by float32 rounding of a 29-term sum: 1e-6 relative.
    /// </summary>
    [PyTorchTheory]
    [InlineData(ScalarType.Float64, 0.5)]
    [InlineData(ScalarType.Float64, 100.0)]
    [InlineData(ScalarType.Float32, 0.5)]
    [InlineData(ScalarType.Float32, 100.0)]
    public void Clip_grad_norm_matches_torch_nn_utils_clip_grad_norm_(ScalarType dtype, double maxNorm)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(303);
        double rtol = dtype == ScalarType.Float64 ? 1e-12 : 1e-6;
        var grads = Parameters.ToDictionary(p => p.name, p => torch.randn(p.shape, dtype));
        using var expected = py.Call("clip", grads.ToDictionary(kv => "g." + kv.Key, kv => kv.Value), new { max_norm = maxNorm });
        double norm = expected.json.GetProperty("norm").GetDouble();

        // Through an optimizer's flat gradient buffer (two groups, as above).
        var parameters = Parameters.ToDictionary(p => p.name, p => torch.zeros(p.shape, dtype).requires_grad_());
        using var optimizer = new AdamW(TwoGroups.Select((g, i) => new ParamGroup(Parameters.Where(p => p.group == i).Select(p => parameters[p.name]), g.Item1, g.Item2)));
        Parameters.Select(p => (parameters[p.name] * grads[p.name]).sum()).Aggregate((a, b) => a + b).backward();
        double viaOptimizer = optimizer.clip_grad_norm_(maxNorm);
        // On parameters of one's own.
        var loose = Parameters.ToDictionary(p => p.name, p => torch.zeros(p.shape, dtype).requires_grad_());
        foreach (var p in Parameters) loose[p.name].grad = grads[p.name].clone();
        double viaStatic = Optimizer.ClipGradNorm(loose.Values, maxNorm);

        foreach (var (how, value, clipped) in new[] { ("optimizer.clip_grad_norm_", viaOptimizer, parameters), ("Optimizer.ClipGradNorm", viaStatic, loose) })
        {
            log.WriteLine($"{how} ({dtype}, max_norm {maxNorm}): norm {value:R}, PyTorch {norm:R}");
            Assert.True(Math.Abs(value - norm) <= rtol * norm, $"{how}: norm {value:R}, PyTorch's {norm:R} (tolerance {rtol:E0} relative)");
            var mine = torch.cat(Parameters.Select(p => clipped[p.name].grad!.reshape(-1)).ToList());
            var theirs = torch.cat(Parameters.Select(p => expected["g." + p.name].reshape(-1)).ToList());
            Check.Close(log, $"{how}: clipped gradients", mine, theirs, rtol);
        }
    }
}
