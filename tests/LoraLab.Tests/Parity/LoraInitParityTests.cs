using Xunit.Abstractions;
using LoraLab.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests.Parity;

/// <summary>Each LoraInit draws what its documentation says, and the Kaiming-uniform bound is PyTorch's own.</summary>
[Collection(PyTorchParityCollection.Name)]
public class LoraInitParityTests(PyTorchReference py, ITestOutputHelper log)
{
    /// <summary>
    /// A large layer (2048 → 2048, r = 32: 65,536 entries in each factor). The zero factor must be exactly zero; the random
    /// one must have mean 0 and the documented variance σ² within 5 standard errors (for n draws, the mean's SE is σ/√n,
    /// the sample variance's is √((μ4 − σ⁴)/n): μ4 = 9σ⁴/5 for a uniform, 3σ⁴ for a Gaussian), with seeds fixed so the
    /// test is deterministic; a uniform stays within its bound ±b and comes within 0.1% of it.
    /// </summary>
    [Theory]
    [InlineData(LoraInit.InitA_KaimingUniform, null)]
    [InlineData(LoraInit.InitA_Gaussian, null)]
    [InlineData(LoraInit.InitA_Gaussian, 0.0025)]
    [InlineData(LoraInit.InitB_KaimingUniform, null)]
    [InlineData(LoraInit.InitB_Gaussian, null)]
    [InlineData(LoraInit.InitB_Gaussian, 0.5)]
    public void Each_init_zeroes_one_factor_and_draws_the_other_from_its_documented_distribution(LoraInit init, double? variance)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(201);
        const int inFeatures = 2048, outFeatures = 2048, r = 32;
        using var lora = new LoraLinear(nn.Linear(inFeatures, outFeatures, hasBias: false), r, lora_alpha: 16, init: init, init_variance: variance);
        var (random, zero) = init.ZeroesB() ? (lora.lora_A, lora.lora_B) : (lora.lora_B, lora.lora_A);
        Assert.Equal(0, zero.count_nonzero().ToInt64());

        var draws = random.detach().to(ScalarType.Float64);
        long n = draws.numel();
        double sigma2 = init.FactorVariance(inFeatures, r, variance);
        double documented = init switch
        {
            LoraInit.InitA_KaimingUniform => 1.0 / (3 * inFeatures),
            LoraInit.InitB_KaimingUniform => 1.0 / (3 * r),
            LoraInit.InitA_Gaussian => variance ?? 1.0 / inFeatures,
            _ => variance ?? 1.0 / r,
        };
        Assert.Equal(documented, sigma2, 15);
        bool uniform = init is LoraInit.InitA_KaimingUniform or LoraInit.InitB_KaimingUniform;
        double mean = draws.mean().ToDouble(), sampleVariance = draws.var().ToDouble();
        double meanSE = Math.Sqrt(sigma2 / n), varianceSE = Math.Sqrt((uniform ? 9.0 / 5 - 1 : 3 - 1) * sigma2 * sigma2 / n);
        log.WriteLine($"{init}: n={n}, mean {mean:E3} (SE {meanSE:E2}), variance {sampleVariance:E5} vs {sigma2:E5} (SE {varianceSE:E2})");
        Assert.True(Math.Abs(mean) <= 5 * meanSE, $"{init}: mean {mean:E3} is more than 5 SE ({meanSE:E2}) from 0");
        Assert.True(Math.Abs(sampleVariance - sigma2) <= 5 * varianceSE, $"{init}: variance {sampleVariance:E5} is more than 5 SE ({varianceSE:E2}) from {sigma2:E5}");
        if (uniform)
        {
            double bound = Math.Sqrt(3 * sigma2), max = draws.abs().max().ToDouble();
            Assert.True(max <= bound, $"{init}: max |x| = {max:R} exceeds the bound {bound:R}");
            Assert.True(max >= bound * 0.999, $"{init}: max |x| = {max:R} does not approach the bound {bound:R}");
        }
    }

    /// <summary>
    /// PEFT's Init[A] draws lora_A [r, in] with torch.nn.init.kaiming_uniform_(a = √5), and the LoRA+ code's Init[B]
    /// draws lora_B [out, r] the same way (fan_in = r). PyTorch draws bound·U(−1, 1) there; the bound is read off
    /// PyTorch's own draw (same seed, uniform_(−1, 1)), and LoraLab's documented bound 1/√fan_in and variance
    /// (FactorVariance) must equal it and bound²/3 to 1e-12 (the ratio of two float64 draws: ~1e-16).
    /// </summary>
    [PyTorchFact]
    public void Kaiming_uniform_bound_and_variance_are_those_of_PyTorch_kaiming_uniform_with_a_sqrt5()
    {
        (LoraInit init, int r, int inF, int outF)[] shapes =
        {
            (LoraInit.InitA_KaimingUniform, 8, 64, 32), (LoraInit.InitA_KaimingUniform, 8, 1024, 64), (LoraInit.InitA_KaimingUniform, 16, 4096, 64),
            (LoraInit.InitB_KaimingUniform, 1, 64, 256), (LoraInit.InitB_KaimingUniform, 8, 64, 256), (LoraInit.InitB_KaimingUniform, 64, 512, 256),
        };
        // The random factor's shape: A is [r, in], B is [out, r].
        var tensorShapes = shapes.Select(s => s.init == LoraInit.InitA_KaimingUniform ? new[] { s.r, s.inF } : new[] { s.outF, s.r }).ToArray();
        using var answer = py.Call("kaiming", args: new { shapes = tensorShapes });
        var draws = answer.json.GetProperty("draws");
        for (int i = 0; i < shapes.Length; i++)
        {
            var (init, r, inF, _) = shapes[i];
            var d = draws[i];
            long fanIn = init == LoraInit.InitA_KaimingUniform ? inF : r;
            Assert.Equal(fanIn, d.GetProperty("fan_in").GetInt64());
            double pyBound = d.GetProperty("bound").GetDouble(), pyVariance = d.GetProperty("variance").GetDouble();
            double bound = 1 / Math.Sqrt(fanIn), variance = init.FactorVariance(inF, r);
            log.WriteLine($"{init} [{string.Join(", ", tensorShapes[i])}]: PyTorch bound {pyBound:R}, LoraLab 1/√{fanIn} = {bound:R}; variance {pyVariance:R} vs {variance:R}");
            Assert.True(Math.Abs(bound - pyBound) <= 1e-12 * pyBound, $"{init}: LoraLab's bound {bound:R}, PyTorch's {pyBound:R}");
            Assert.True(Math.Abs(variance - pyVariance) <= 1e-12 * pyVariance, $"{init}: LoraLab's variance {variance:R}, PyTorch's {pyVariance:R}");
            Assert.True(d.GetProperty("max_abs").GetDouble() <= pyBound * (1 + 1e-12));
            string fan = init == LoraInit.InitA_KaimingUniform ? "in" : "r";
            Assert.Contains($"U(-1/sqrt({fan}), 1/sqrt({fan}))", init.Describe());
        }
    }
}
