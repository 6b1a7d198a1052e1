using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using AdamW = LoraLab.Optim.AdamW;
using SGD = LoraLab.Optim.SGD;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Tests;

/// <summary>Mixed precision as PEFT does it: float32 LoRA factors and optimizer state on a bf16 base,
/// matmuls in bf16, the loss in float32. Checked on the CPU (libtorch runs bf16 matmuls there too).</summary>
public class MixedPrecisionTests
{
    private static Linear Bf16Linear(long inFeatures, long outFeatures, int seed)
    {
        torch.manual_seed(seed);
        var linear = nn.Linear(inFeatures, outFeatures, hasBias: true);
        linear.to(ScalarType.BFloat16);
        return linear;
    }

    private static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = torch.NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        return ((actual.to(ScalarType.Float64) - e).norm() / e.norm()).ToDouble();
    }

    [Fact]
    public void Lora_factors_are_float32_on_a_bf16_base_and_the_output_keeps_the_base_dtype()
    {
        using var scope = torch.NewDisposeScope();
        using var lora = new LoraLinear(Bf16Linear(64, 32, 1), r: 8, lora_alpha: 16);
        Assert.Equal(ScalarType.BFloat16, lora.weight.dtype);
        Assert.Equal(ScalarType.Float32, lora.lora_A.dtype);
        Assert.Equal(ScalarType.Float32, lora.lora_B.dtype);
        Assert.Equal(ScalarType.Float32, lora.lora_dtype);
        var y = lora.forward(torch.randn(new long[] { 2, 16, 64 }).to(ScalarType.BFloat16));
        Assert.Equal(new long[] { 2, 16, 32 }, y.shape);
        Assert.Equal(ScalarType.BFloat16, y.dtype);

        using var same = new LoraLinear(Bf16Linear(64, 32, 1), r: 8, lora_alpha: 16, autocast_adapter_dtype: false);
        Assert.Equal(ScalarType.BFloat16, same.lora_A.dtype);
        using var fp32Base = new LoraLinear(nn.Linear(8, 8), r: 2, lora_alpha: 2);
        Assert.Equal(ScalarType.Float32, fp32Base.lora_A.dtype);   // nothing changes on a float32 base
    }

    [Fact]
    public void Gradients_of_float32_factors_on_a_bf16_base_match_a_float64_reference_within_bf16_tolerance()
    {
        using var scope = torch.NewDisposeScope();
        using var lora = new LoraLinear(Bf16Linear(48, 40, 2), r: 4, lora_alpha: 8);
        using (torch.no_grad()) lora.lora_B.normal_(0, 0.2);                     // a trained-looking B
        var x = torch.randn(new long[] { 3, 7, 48 }).to(ScalarType.BFloat16);
        var probe = torch.randn(new long[] { 3, 7, 40 });
        (lora.forward(x).to(ScalarType.Float32) * probe).sum().backward();
        Assert.Equal(ScalarType.Float32, lora.lora_A.grad!.dtype);
        Assert.Equal(ScalarType.Float32, lora.lora_B.grad!.dtype);
        Assert.Null(lora.weight.grad);

        // The same function in float64 from the same (exactly representable) values.
        var W = lora.weight.to(ScalarType.Float64);
        var b = lora.bias!.to(ScalarType.Float64);
        var A = lora.lora_A.detach().to(ScalarType.Float64).requires_grad_();
        var B = lora.lora_B.detach().to(ScalarType.Float64).requires_grad_();
        var x64 = x.to(ScalarType.Float64);
        var y64 = F.linear(x64, W, b) + F.linear(F.linear(x64, A), B) * lora.scaling;
        (y64 * probe.to(ScalarType.Float64)).sum().backward();
        // bf16 keeps 8 significant bits (relative rounding 2^-9 ≈ 0.002 per operation).
        Assert.True(RelativeError(lora.lora_A.grad!, A.grad!) < 0.02, $"dL/dA off by {RelativeError(lora.lora_A.grad!, A.grad!):G3}");
        Assert.True(RelativeError(lora.lora_B.grad!, B.grad!) < 0.02, $"dL/dB off by {RelativeError(lora.lora_B.grad!, B.grad!):G3}");
    }

    [Fact]
    public void An_AdamW_step_on_a_bf16_llama_updates_float32_factors_and_state_and_leaves_the_base_alone()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama(), ScalarType.BFloat16);
        var adapted = LoraAdapters.Apply(model, new LoraConfig(r: 4, lora_alpha: 8, target_modules: LoraConfig.AllLinear));
        Assert.NotEmpty(adapted);
        var baseBefore = model.named_parameters().Where(p => !p.parameter.requires_grad).ToDictionary(p => p.name, p => p.parameter.clone());
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        Assert.All(trainable, p => Assert.Equal(ScalarType.Float32, p.dtype));
        var factorsBefore = trainable.Select(p => p.clone()).ToList();

        var ids = torch.randint(48, new long[] { 2, 12 });
        var logits = model.forward(ids);
        Assert.Equal(ScalarType.BFloat16, logits.dtype);
        var loss = LlamaForCausalLM.Loss(logits, ids);
        Assert.Equal(ScalarType.Float32, loss.dtype);                     // the loss in float32
        loss.backward();
        using var opt = new AdamW(trainable, lr: 1e-2, weight_decay: 0);
        opt.step();

        var (m, v) = opt.StateOf(0);
        Assert.All(m.Concat(v), s => Assert.Equal(ScalarType.Float32, s.dtype));
        Assert.True(v.Sum(s => s.abs().sum().ToDouble()) > 0, "the second moments did not change");
        Assert.All(trainable, p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.True(trainable.Zip(factorsBefore).Count(t => TestSupport.MaxAbsDiff(t.First, t.Second) > 0) >= trainable.Count / 2,
                    "most factors should move (lora_B from zero, lora_A through B's gradient after one step only where B ≠ 0)");
        foreach (var (name, p) in model.named_parameters().Where(p => !p.parameter.requires_grad))
        {
            Assert.Equal(ScalarType.BFloat16, p.dtype);
            Assert.Equal(0.0, TestSupport.MaxAbsDiff(p, baseBefore[name]));
        }
    }

    [Fact]
    public void Full_finetuning_in_bf16_keeps_float32_adam_state_and_rounds_the_float32_update_once()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        var start = torch.randn(new long[] { 64 });
        var p = start.to(ScalarType.BFloat16).requires_grad_();
        var g = torch.randn(new long[] { 64 });
        p.grad = g.to(ScalarType.BFloat16);
        using var opt = new AdamW(new[] { p }, lr: 0.1, weight_decay: 0.1);
        opt.step();
        var (m, v) = opt.StateOf(0);
        Assert.Equal(ScalarType.Float32, m[0].dtype);
        Assert.Equal(ScalarType.Float32, v[0].dtype);
        Assert.Equal(ScalarType.BFloat16, p.dtype);
        // First AdamW step in float64: p(1 − lr·wd) − lr · g/(|g| + ε), from the bf16 values.
        var p0 = start.to(ScalarType.BFloat16).to(ScalarType.Float64);
        var g0 = g.to(ScalarType.BFloat16).to(ScalarType.Float64);
        var expected = p0 * (1 - 0.1 * 0.1) - 0.1 * g0 / (g0.abs() + 1e-8);
        // One rounding to bf16: within half an ulp (2^-8 relative) of the exact update.
        var error = (p.to(ScalarType.Float64) - expected).abs() / expected.abs().clamp_min(1e-3);
        Assert.True(error.max().ToDouble() <= 1.0 / 256, $"relative error {error.max().ToDouble():G3}");
    }

    [Theory]
    [InlineData(nn.Reduction.Mean)]
    [InlineData(nn.Reduction.Sum)]
    [InlineData(nn.Reduction.None)]
    public void Cross_entropy_over_bf16_logits_is_computed_in_float32_chunk_by_chunk_with_the_right_gradient(nn.Reduction reduction)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(12);
        long rows = CrossEntropyFp32.ChunkRows + 5;                          // two chunks, the second short
        var logits = (torch.randn(new long[] { rows, 11 }) * 3).to(ScalarType.BFloat16).requires_grad_();
        var target = torch.randint(0, 11, new long[] { rows });
        target[0] = torch.tensor(-100L);                                      // ignored rows give neither loss nor gradient
        target[rows - 1] = torch.tensor(-100L);
        var loss = CrossEntropyFp32.Loss(logits, target, reduction: reduction);
        Assert.Equal(ScalarType.Float32, loss.dtype);
        var probe = reduction == nn.Reduction.None ? torch.randn(new long[] { rows }) : torch.ones(new long[] { });
        (loss * probe).sum().backward();

        var reference = logits.detach().to(ScalarType.Float64).requires_grad_();
        var expected = F.cross_entropy(reference, target, ignore_index: -100, reduction: reduction);
        (expected * probe.to(ScalarType.Float64)).sum().backward();
        Assert.True(RelativeError(loss, expected) < 1e-5, $"loss off by {RelativeError(loss, expected):G3}");
        Assert.Equal(ScalarType.BFloat16, logits.grad!.dtype);
        // The gradient is rounded once into bf16 (8 significant bits): within a bf16 rounding of the float64 one.
        var error = (logits.grad!.to(ScalarType.Float64) - reference.grad!).abs().max().ToDouble();
        Assert.True(error <= 4e-3 * reference.grad!.abs().max().ToDouble(), $"gradient off by {error:G3}");
        Assert.Equal(0.0, logits.grad![0].abs().sum().ToDouble());
    }
}
