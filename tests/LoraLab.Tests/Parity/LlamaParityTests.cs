using Xunit.Abstractions;
using LoraLab.Checkpoints;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests.Parity;

/// <summary>
/// LlamaForCausalLM in float64 against the written-out Llama of tests/python/llama_parity.py (PyTorch 1.13, autograd for
/// the gradients), from the checkpoint HfCheckpoint.Save exports. Like Hugging Face's, both compute two things in float32
/// even in a float64 model: the RMSNorm statistics (LlamaRMSNorm) and the RoPE cos/sin tables (LlamaRotaryEmbedding).
/// The RMSNorm part agrees (once the tables are shared, no float32-sized difference is left); the tables do not (two libms round cos, sin, exp an ulp apart, and an ulp of
/// inv_freq becomes position × ulp in the angle), and a float32 table difference moves a float64 model's output by
/// ~1e-7. So the model is checked in two parts: everything with the tables taken as given (LoraLab's Rotary.Tables, fed to
/// the reference), at float64 precision; and the tables against Hugging Face's construction, at float32 precision. The end
/// to end comparison with Hugging Face's tables is logged alongside.
/// </summary>
[Collection(PyTorchParityCollection.Name)]
public class LlamaParityTests(PyTorchReference py, ITestOutputHelper log)
{
    // With the same tables, everything runs in float64 but the RMSNorm statistics, which both round identically; a 2-layer
    // model of width 32 sums at most 64 terms per value, and backward a few such layers more, so two correct float64
    // implementations agree to ~1e-14 (measured: 1e-15). 1e-9 relative leaves room for other summation orders and fails on
    // any structural error (a head mapped to the wrong key/value head, a missing mask, an ignored label counted, a
    // gradient not accumulated through tied weights), which shows at 1e-3 or more.
    private const double Tolerance = 1e-9;

    [PyTorchTheory]
    [InlineData(false, null)]
    [InlineData(false, 2)]          // grouped-query attention: 4 query heads share 2 key/value heads
    [InlineData(true, null)]        // tied embeddings: the logits use model.embed_tokens.weight, which collects both gradients
    [InlineData(true, 1)]           // both, with multi-query attention
    public void Float64_logits_loss_and_every_parameter_gradient_match_a_written_out_PyTorch_Llama(bool tie, int? kvHeads)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(401);
        var config = TestSupport.TinyLlama(tie, init: 0.2) with { num_key_value_heads = kvHeads };
        using var model = new LlamaForCausalLM(config, ScalarType.Float64);
        using (torch.no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.EndsWith("norm.weight")) p.add_(torch.randn_like(p) * 0.2);      // norms that scale, not all ones
        string dir = TestSupport.TempDir("llama-parity");
        HfCheckpoint.Save(dir, model);

        const int T = 12;
        var ids = torch.randint(0, config.vocab_size, new long[] { 2, T });
        var labels = ids.clone();
        labels[0][5].fill_(-100);                                         // ignored positions, as a padded batch has
        labels[1][1].fill_(-100);
        labels[1][11].fill_(-100);
        var logits = model.forward(ids);
        var loss = LlamaForCausalLM.Loss(logits, labels);
        loss.backward();

        var inputs = new Dictionary<string, Tensor> { ["input_ids"] = ids, ["labels"] = labels };
        var (cos, sin) = Rotary.Tables(T, config.head_dim, config.rope_theta, ScalarType.Float64, torch.CPU);
        using var expected = py.Call("llama", new Dictionary<string, Tensor>(inputs) { ["cos"] = cos, ["sin"] = sin }, new { dir, rope = "given" });
        using var withHfTables = py.Call("llama", inputs, new { dir, rope = "hf" });

        var quantities = new List<(string what, Tensor mine, string key)> { ("logits", logits, "logits"), ("loss", loss.reshape(1), "loss") };
        var parameters = model.named_parameters().ToList();
        Assert.Equal(parameters.Count, expected.tensors.Keys.Count(k => k.StartsWith("grad.")));
        quantities.AddRange(parameters.Select(p => ($"dL/d{p.name}", (Tensor)p.parameter.grad!, "grad." + p.name)));
        log.WriteLine($"tie={tie}, num_key_value_heads={kvHeads}: loss {loss.ToDouble():R}, PyTorch {expected["loss"].ToDouble():R} " +
                      $"(with Hugging Face's RoPE tables {withHfTables["loss"].ToDouble():R})");
        var failures = new List<string>();
        double worstWithHfTables = 0;
        foreach (var (what, mine, key) in quantities)
        {
            Assert.Equal(expected[key].shape, mine.shape);
            double error = Check.RelativeError(mine, expected[key]), hf = Check.RelativeError(mine, withHfTables[key]);
            worstWithHfTables = Math.Max(worstWithHfTables, hf);
            log.WriteLine($"{what}: relative error {error:E2} (tolerance {Tolerance:E0}); end to end with Hugging Face's RoPE tables {hf:E2}");
            if (error > Tolerance) failures.Add($"{what}: {error:E3}");
        }
        Assert.True(failures.Count == 0,
            $"{failures.Count} of {quantities.Count} quantities differ from the reference by more than {Tolerance:E0} relative: {string.Join("; ", failures)}");
        log.WriteLine($"end to end with Hugging Face's RoPE tables: largest relative error {worstWithHfTables:E2} (float32 table differences; see Rotary_tables_*)");
    }

    /// <summary>
    /// Rotary.Tables in float32 against Hugging Face's LlamaRotaryEmbedding construction in PyTorch (inv_freq =
    /// 1 / θ^(arange(0, d, 2) / d) in float32, angles = positions × inv_freq, cos and sin in float32), for head sizes and
    /// bases of real models, to a context of real models. Tolerance 2^-23 absolute: one float32 ulp of a value in [1/2, 1)
    /// is 2^-24, and two libms may round cos or sin one ulp apart. An inv_freq even one ulp off is not tolerated: the
    /// angle error it causes grows with the position (ulp × position), up to 1e-4 and more in a long context.
    /// </summary>
    [PyTorchTheory]
    [InlineData(8, 10000.0, 256)]
    [InlineData(64, 10000.0, 256)]
    [InlineData(128, 10000.0, 256)]
    [InlineData(128, 500000.0, 256)]
    [InlineData(128, 10000.0, 4096)]
    public void Rotary_tables_equal_Hugging_Face_float32_construction(int headDim, double theta, int T)
    {
        using var scope = torch.NewDisposeScope();
        var (cos, sin) = Rotary.Tables(T, headDim, theta, ScalarType.Float32, torch.CPU);
        using var expected = py.Call("rotary", args: new { T, D = headDim, theta });
        static double MaxDiff(Tensor a, Tensor b) => (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().ToDouble();
        double diff = Math.Max(MaxDiff(cos, expected["cos"]), MaxDiff(sin, expected["sin"]));
        // Diagnostics: PyTorch building the tables with LoraLab's formula, and libtorch 2.10 (TorchSharp) evaluating HF's.
        double sameFormula = Math.Max(MaxDiff(cos, expected["cos_exp"]), MaxDiff(sin, expected["sin_exp"]));
        var exponents = torch.arange(0, headDim, 2, ScalarType.Int64).to(ScalarType.Float32) / headDim;
        var invFreq = 1.0 / torch.pow(torch.full_like(exponents, theta), exponents);
        var angles = torch.arange(0, T, 1, ScalarType.Int64).to(ScalarType.Float32).outer(invFreq);
        angles = torch.cat(new[] { angles, angles }, -1);
        double hfFormulaHere = Math.Max(MaxDiff(angles.cos(), expected["cos"]), MaxDiff(angles.sin(), expected["sin"]));
        log.WriteLine($"head_dim {headDim}, theta {theta}, positions 0..{T - 1}: max |difference| {diff:E2}; diagnostics: PyTorch with LoraLab's " +
                      $"formula inv_freq = 1/exp(2i/d·ln θ) {sameFormula:E2}, HF's formula 1/θ^(2i/d) evaluated with TorchSharp {hfFormulaHere:E2}");
        double tolerance = Math.ScaleB(1.0, -23);
        Assert.True(diff <= tolerance,
            $"head_dim {headDim}, theta {theta}, positions 0..{T - 1}: LoraLab's RoPE tables differ from Hugging Face's by up to {diff:E3} " +
            $"(tolerance {tolerance:E2}). Rotary.Tables computes inv_freq as 1/exp(2i/d·ln θ), HF as 1/θ^(2i/d) (torch.pow, float32); " +
            $"HF's formula evaluated with TorchSharp is within {hfFormulaHere:E2} of PyTorch's tables.");
    }
}
