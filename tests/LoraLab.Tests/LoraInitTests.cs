using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace LoraLab.Tests;

public class LoraInitTests
{
    public static TheoryData<LoraInit> ZeroProductInits => new() { LoraInit.InitA_KaimingUniform, LoraInit.InitA_Gaussian, LoraInit.InitB_KaimingUniform, LoraInit.InitB_Gaussian };

    [Theory, MemberData(nameof(ZeroProductInits))]
    public void Init_leaves_the_model_output_exactly_unchanged_at_step_0(LoraInit init)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        var ids = torch.randint(0, 48, new long[] { 2, 10 });
        var before = model.forward(ids).detach();
        LoraAdapters.Apply(model, new LoraConfig(r: 4, target_modules: "all-linear", init: init));
        var after = model.forward(ids).detach();
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(before, after));
    }

    [Theory]
    [InlineData(LoraInit.InitA_KaimingUniform, true)]
    [InlineData(LoraInit.InitA_Gaussian, true)]
    [InlineData(LoraInit.InitB_KaimingUniform, false)]
    [InlineData(LoraInit.InitB_Gaussian, false)]
    public void At_step_0_only_the_nonzero_factors_partner_gets_a_gradient(LoraInit init, bool initA)
    {
        // Init[A] (B = 0): dL/dA = s Bᵀ(...) = 0 while dL/dB = s (...) (A x)ᵀ ≠ 0; Init[B] is the reverse.
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(2);
        using var task = new TeacherStudentTask(d: 8, n: 32, rank: 2, scale: 4, n_train: 64, n_test: 8, seed: 3);
        LoraAdapters.Apply(task.student, new LoraConfig(r: 4, target_modules: "hidden", init: init));
        var loss = torch.nn.functional.mse_loss(task.student.forward(task.x_train), task.y_train);
        loss.backward();
        var layer = LoraAdapters.Layers(task.student).Single().layer;
        double gradA = layer.lora_A.grad!.abs().max().ToDouble();
        double gradB = layer.lora_B.grad!.abs().max().ToDouble();
        if (initA) { Assert.Equal(0.0, gradA); Assert.True(gradB > 1e-6, $"grad B = {gradB}"); }
        else { Assert.Equal(0.0, gradB); Assert.True(gradA > 1e-6, $"grad A = {gradA}"); }
        Assert.Null(layer.weight.grad);   // the base weight is frozen
    }

    [Theory]
    [InlineData(LoraInit.InitA_KaimingUniform, 64, 8)]
    [InlineData(LoraInit.InitA_KaimingUniform, 512, 8)]
    [InlineData(LoraInit.InitA_KaimingUniform, 2048, 4)]
    [InlineData(LoraInit.InitA_Gaussian, 128, 8)]
    [InlineData(LoraInit.InitA_Gaussian, 1024, 8)]
    [InlineData(LoraInit.InitB_KaimingUniform, 64, 4)]
    [InlineData(LoraInit.InitB_KaimingUniform, 512, 16)]
    [InlineData(LoraInit.InitB_KaimingUniform, 2048, 8)]
    [InlineData(LoraInit.InitB_Gaussian, 128, 8)]
    [InlineData(LoraInit.InitB_Gaussian, 1024, 2)]
    public void Random_factor_variance_matches_its_formula(LoraInit init, int width, int r)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(width + r);
        using var linear = nn.Linear(width, width, hasBias: false);
        using var lora = new LoraLinear(linear, r, lora_alpha: 2 * r, init: init);
        var factor = init.ZeroesB() ? lora.lora_A : lora.lora_B;
        var zero = init.ZeroesB() ? lora.lora_B : lora.lora_A;
        Assert.Equal(0.0, zero.abs().max().ToDouble());

        var values = factor.to(ScalarType.Float64);
        long count = values.numel();
        double mean = values.mean().ToDouble();
        double empirical = values.pow(2).mean().ToDouble();          // E[X²] = Var for a zero-mean law
        double expected = init.FactorVariance(width, r);
        // Standard error of the mean of X²: sd(X²)/√N; kurtosis 1.8 (uniform) or 3 (normal).
        double kurtosis = init is LoraInit.InitA_KaimingUniform or LoraInit.InitB_KaimingUniform ? 1.8 : 3.0;
        double standardError = expected * Math.Sqrt((kurtosis - 1) / count);
        Assert.True(Math.Abs(empirical - expected) < 5 * standardError,
            $"{init}, width {width}, r {r}: variance {empirical:G5}, formula {expected:G5} (±{standardError:G3})");
        Assert.True(Math.Abs(mean) < 5 * Math.Sqrt(expected / count), $"mean {mean}");
        // Init[B]'s Kaiming variance does not depend on the width; Init[A]'s shrinks as 1/width.
        if (init == LoraInit.InitB_KaimingUniform) Assert.Equal(1.0 / (3 * r), expected, 12);
    }

    [Theory]
    [InlineData(LoraInit.InitA_KaimingUniform, null, true)]
    [InlineData(LoraInit.InitA_Gaussian, null, null)]              // std 1/sqrt(in); PEFT's "gaussian" is std 1/r
    [InlineData(LoraInit.InitA_Gaussian, 1.0 / 64, "gaussian")]    // r = 8: variance 1/r², PEFT's exactly
    [InlineData(LoraInit.InitA_Gaussian, 1.0 / 8, null)]           // variance 1/r is not PEFT's
    [InlineData(LoraInit.InitB_KaimingUniform, null, null)]        // PEFT has no init with A = 0
    [InlineData(LoraInit.InitB_Gaussian, null, null)]
    [InlineData(LoraInit.PiSSA, null, "pissa")]
    public void Only_inits_PEFT_reproduces_get_a_PEFT_name(LoraInit init, double? variance, object? peft)
    {
        Assert.Equal(peft, init.PeftEquivalent(r: 8, gaussianVariance: variance));
    }

    [Fact]
    public void An_InitA_Gaussian_with_variance_one_over_r_squared_draws_A_with_PEFTs_std_of_one_over_r()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        int r = 8;
        using var layer = new LoraLinear(nn.Linear(512, 256, hasBias: false), r: r, lora_alpha: 8, init: LoraInit.InitA_Gaussian, init_variance: 1.0 / (r * r));
        double std = layer.lora_A.std().ToDouble();
        // 4096 draws: the sample std's standard error is σ/√(2n) ≈ 1.1 % of σ, so 4 % is 3.6 standard errors.
        Assert.InRange(std, 0.96 / r, 1.04 / r);
        Assert.Equal(0.0, layer.lora_B.abs().max().ToDouble());
    }

    [Theory]
    [InlineData("init_a", "InitA_Gaussian", true, LoraInit.InitA_Gaussian)]
    [InlineData("init_a", "InitA_KaimingUniform", true, LoraInit.InitA_KaimingUniform)]
    [InlineData("init_b", "InitB_Gaussian", false, LoraInit.InitB_Gaussian)]
    [InlineData("init_b", "InitB_KaimingUniform", false, LoraInit.InitB_KaimingUniform)]
    public void An_init_knob_takes_its_familys_variants(string knob, string value, bool initA, LoraInit expected)
    {
        Assert.Equal(expected, initA ? LoraInitKnob.InitA(knob, value) : LoraInitKnob.InitB(knob, value));
    }

    [Theory]
    [InlineData("init_a", "InitB_Gaussian", true)]      // the other family: a comparison of two Init[B]s
    [InlineData("init_b", "InitA_Gaussian", false)]
    [InlineData("init_a", "PiSSA", true)]               // neither factor starts at zero
    [InlineData("init_a", "InitA_gausian", true)]       // misspelt
    [InlineData("init_b", "3", false)]                  // a number Enum.TryParse would take for InitB_Gaussian
    public void An_init_knob_refuses_anything_else_naming_the_knob_and_the_values_it_takes(string knob, string value, bool initA)
    {
        var e = Assert.Throws<ArgumentException>(() => initA ? LoraInitKnob.InitA(knob, value) : LoraInitKnob.InitB(knob, value));
        Assert.Equal(knob, e.ParamName);
        Assert.Contains(value, e.Message);
        Assert.Contains(initA ? "InitA_Gaussian or InitA_KaimingUniform" : "InitB_Gaussian or InitB_KaimingUniform", e.Message);
    }
}
