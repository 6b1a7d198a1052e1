using Xunit.Abstractions;
using LoraLab.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests.Parity;

/// <summary>LoraLinear's forward and backward, PiSSA and merging against PyTorch 1.13.</summary>
[Collection(PyTorchParityCollection.Name)]
public class LoraParityTests(PyTorchReference py, ITestOutputHelper log)
{
    // float64 tolerances: every value is a sum of at most 24 + 4 products; PyTorch and libtorch 2.10 may sum in another
    // order (different BLAS blocking), which moves the result by a few units of 2^-52 relative to the operands' scale.
    // 1e-12 leaves a factor of 1000 for that and still catches any wrong term (a missing s, a transposed factor: O(1)).
    private const double Float64 = 1e-12;

    // bf16 tolerance: a bf16 result is rounded to 8 significant bits (u = 2^-8); the output goes through up to four
    // roundings (the base matmul, x Aᵀ, (x Aᵀ) Bᵀ, the scaled sum) whose float32 accumulations may land on either side of
    // a rounding boundary in the two implementations, so they may differ by up to 4u = 2^-6 of |y|'s scale. The reference
    // runs each bf16 matmul as float32 accumulation rounded once into bf16 (parity_reference.py's bf16_linear): PyTorch
    // 1.13's own CPU bf16 mm sums in bf16 for the layout of the backward's grad·W (1.8e-2 off here), a defect of that
    // version, not a property of bf16 training.
    private const double Bf16 = 1.0 / 64;

    private static LoraLinear Layer(ScalarType dtype, int inFeatures, int outFeatures, int r, double alpha, bool rslora, LoraInit init = LoraInit.InitA_KaimingUniform)
    {
        var baseLayer = nn.Linear(inFeatures, outFeatures, hasBias: true, dtype: dtype);
        using (torch.no_grad()) baseLayer.bias!.normal_(0, 0.5);
        return new LoraLinear(baseLayer, r, alpha, use_rslora: rslora, init: init);
    }

    private static void SetFactors(LoraLinear lora, Tensor A, Tensor B)
    {
        using var noGrad = torch.no_grad();
        lora.lora_A.copy_(A);
        lora.lora_B.copy_(B);
    }

    [PyTorchTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Float64_forward_and_gradients_of_x_A_and_B_match_PyTorch(bool rslora)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(101);
        using var lora = Layer(ScalarType.Float64, 24, 16, r: 4, alpha: 6, rslora);
        SetFactors(lora, torch.randn(4, 24, ScalarType.Float64), torch.randn(16, 4, ScalarType.Float64));
        var x = torch.randn(new long[] { 3, 5, 24 }, ScalarType.Float64).requires_grad_();
        var y = lora.call(x);
        var gy = torch.randn_like(y);
        y.backward(new[] { gy });
        Assert.Null(lora.weight.grad);                                    // the base stays frozen
        Assert.Null(lora.bias!.grad);

        using var expected = py.Call("lora", new Dictionary<string, Tensor>
        {
            ["x"] = x.detach(), ["W"] = lora.weight.detach(), ["b"] = lora.bias.detach(),
            ["A"] = lora.lora_A.detach(), ["B"] = lora.lora_B.detach(), ["gy"] = gy,
        }, new { lora_alpha = 6.0, r = 4, use_rslora = rslora, mode = "float64" });
        Assert.Equal(expected.json.GetProperty("scaling").GetDouble(), lora.scaling);   // 6/4 or 6/√4: the same IEEE operation
        Check.Close(log, "y", y, expected["y"], Float64);
        Check.Close(log, "dL/dx", x.grad!, expected["grad_x"], Float64);
        Check.Close(log, "dL/dA", lora.lora_A.grad!, expected["grad_A"], Float64);
        Check.Close(log, "dL/dB", lora.lora_B.grad!, expected["grad_B"], Float64);
    }

    [PyTorchFact]
    public void Bf16_base_with_float32_factors_matches_PyTorch_doing_the_same_casts()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(102);
        using var lora = Layer(ScalarType.BFloat16, 48, 32, r: 8, alpha: 16, rslora: false);
        Assert.Equal(ScalarType.Float32, lora.lora_dtype);                // PEFT's autocast_adapter_dtype
        SetFactors(lora, torch.randn(8, 48) * 0.2, torch.randn(32, 8) * 0.2);
        var x = torch.randn(new long[] { 4, 6, 48 }).to(ScalarType.BFloat16).requires_grad_();
        var y = lora.call(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        var gy = torch.randn_like(y);
        y.backward(new[] { gy });

        using var expected = py.Call("lora", new Dictionary<string, Tensor>
        {
            ["x"] = x.detach(), ["W"] = lora.weight.detach(), ["b"] = lora.bias!.detach(),
            ["A"] = lora.lora_A.detach(), ["B"] = lora.lora_B.detach(), ["gy"] = gy,
        }, new { lora_alpha = 16.0, r = 8, use_rslora = false, mode = "bf16" });
        Assert.Equal(ScalarType.BFloat16, expected["y"].dtype);
        Assert.Equal(ScalarType.Float32, lora.lora_A.grad!.dtype);          // float32 factors get float32 gradients
        Assert.Equal(expected["grad_A"].dtype, lora.lora_A.grad!.dtype);
        Check.Close(log, "y (bf16)", y, expected["y"], Bf16);
        Check.Close(log, "dL/dx (bf16)", x.grad!, expected["grad_x"], Bf16);
        Check.Close(log, "dL/dA (float32 from bf16 matmuls)", lora.lora_A.grad!, expected["grad_A"], Bf16);
        Check.Close(log, "dL/dB (float32 from bf16 matmuls)", lora.lora_B.grad!, expected["grad_B"], Bf16);
    }

    [PyTorchTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void PiSSA_factors_and_residual_match_the_construction_from_torch_linalg_svd(bool rslora)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(103);
        const int r = 5;
        var baseLayer = nn.Linear(24, 16, hasBias: false, dtype: ScalarType.Float64);
        var W = baseLayer.weight.detach().clone();
        using var lora = new LoraLinear(baseLayer, r, lora_alpha: 10, use_rslora: rslora, init: LoraInit.PiSSA);
        double s = lora.scaling;
        var sBA = lora.lora_B.detach().mm(lora.lora_A.detach()) * s;

        using var expected = py.Call("pissa", new Dictionary<string, Tensor> { ["W"] = W }, new { r, scaling = s });
        // Sign-free quantities first: s·B·A (the top-r part of W) and the residual W'.
        Check.Close(log, "s·B·A", sBA, expected["sBA"], Float64);
        Check.Close(log, "residual W'", lora.weight, expected["residual"], Float64);
        Check.Close(log, "s·B·A + W' = W", sBA + lora.weight, W, 1e-14);
        // The factors themselves, up to the sign of each singular pair: row i of A and column i of B flip together.
        var flip = (lora.lora_A.detach() * expected["A"]).sum(1).sign();                     // [r]
        Check.Close(log, "A (signs aligned)", lora.lora_A.detach() * flip.unsqueeze(1), expected["A"], 1e-10);
        Check.Close(log, "B (signs aligned)", lora.lora_B.detach() * flip.unsqueeze(0), expected["B"], 1e-10);
    }

    [PyTorchFact]
    public void Merge_adds_s_B_A_to_W_keeps_the_output_and_unmerge_restores_W()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(104);
        using var lora = Layer(ScalarType.Float64, 24, 16, r: 4, alpha: 12, rslora: false);
        SetFactors(lora, torch.randn(4, 24, ScalarType.Float64), torch.randn(16, 4, ScalarType.Float64));
        var W = lora.weight.detach().clone();
        var x = torch.randn(7, 24, ScalarType.Float64);
        var before = lora.call(x).detach();
        lora.Merge();
        var merged = lora.weight.detach().clone();
        var after = lora.call(x).detach();
        lora.Unmerge();

        using var expected = py.Call("merge", new Dictionary<string, Tensor>
        {
            ["W"] = W, ["A"] = lora.lora_A.detach(), ["B"] = lora.lora_B.detach(), ["x"] = x,
        }, new { scaling = lora.scaling });
        Check.Close(log, "merged W = W + s·B·A", merged, expected["merged"], Float64);
        Check.Close(log, "output before merging", before - lora.bias!, expected["y"], Float64);
        Check.Close(log, "output after merging", after - lora.bias!, expected["y_merged"], Float64);
        Check.Close(log, "output after = before", after, before, Float64);
        Check.Close(log, "unmerged W = W", lora.weight, W, Float64);
    }
}
