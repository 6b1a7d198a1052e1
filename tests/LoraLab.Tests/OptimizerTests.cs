using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;

namespace LoraLab.Tests;

public class OptimizerTests
{
    private static readonly double[] P0 = { 0.5, -1.0, 2.0, 0.0 };
    private static readonly double[][] Grads = { new[] { 0.1, -0.2, 0.3, 0.0 }, new[] { -0.4, 0.1, 0.2, 0.5 }, new[] { 0.3, 0.3, -0.1, -0.2 } };

    private static Tensor Param() => torch.tensor(P0, requires_grad: true).DetachFromDisposeScope();

    /// <summary>Runs three steps with fixed gradients and returns the parameter after each.</summary>
    private static double[][] Run(Optimizer opt, Tensor p)
    {
        var result = new List<double[]>();
        foreach (var g in Grads)
        {
            opt.zero_grad();
            p.grad = torch.tensor(g);
            opt.step();
            result.Add(p.data<double>().ToArray());
        }
        return result.ToArray();
    }

    private static void Close(double[] expected, double[] actual)
    {
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 12);
    }

    [Fact]
    public void AdamW_step_matches_the_hand_computed_update()
    {
        using var scope = torch.NewDisposeScope();
        using var p = Param();
        double lr = 0.1, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.1;
        using var opt = new AdamW(new[] { p }, lr, wd, b1, b2, eps);
        var got = Run(opt, p);
        var x = (double[])P0.Clone();
        var m = new double[4]; var v = new double[4];
        for (int t = 1; t <= 3; t++)
        {
            for (int i = 0; i < 4; i++)
            {
                double g = Grads[t - 1][i];
                x[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double mHat = m[i] / (1 - Math.Pow(b1, t)), vHat = v[i] / (1 - Math.Pow(b2, t));
                x[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            Close(x, got[t - 1]);
        }
    }

    [Fact]
    public void Lion_step_matches_the_hand_computed_update()
    {
        using var scope = torch.NewDisposeScope();
        using var p = Param();
        double lr = 0.05, b1 = 0.9, b2 = 0.95, wd = 0.2;
        using var opt = new Lion(new[] { p }, lr, wd);
        var got = Run(opt, p);
        var x = (double[])P0.Clone();
        var m = new double[4];
        for (int t = 0; t < 3; t++)
        {
            for (int i = 0; i < 4; i++)
            {
                double g = Grads[t][i];
                x[i] *= 1 - lr * wd;
                x[i] -= lr * Math.Sign(b1 * m[i] + (1 - b1) * g);
                m[i] = b2 * m[i] + (1 - b2) * g;
            }
            Close(x, got[t]);
        }
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.9, false)]
    [InlineData(0.9, true)]
    public void SGD_momentum_step_matches_the_hand_computed_update(double momentum, bool nesterov)
    {
        using var scope = torch.NewDisposeScope();
        using var p = Param();
        double lr = 0.1, wd = 0.01;
        using var opt = new SGD(new[] { p }, lr, momentum, wd, nesterov);
        var got = Run(opt, p);
        var x = (double[])P0.Clone();
        var buf = new double[4];
        for (int t = 0; t < 3; t++)
        {
            for (int i = 0; i < 4; i++)
            {
                double g = Grads[t][i] + wd * x[i];
                if (momentum != 0)
                {
                    buf[i] = t == 0 ? g : momentum * buf[i] + g;
                    g = nesterov ? g + momentum * buf[i] : buf[i];
                }
                x[i] -= lr * g;
            }
            Close(x, got[t]);
        }
    }

    [Fact]
    public void A_parameter_whose_gradient_was_removed_is_left_untouched_as_in_PyTorch()
    {
        using var scope = torch.NewDisposeScope();
        using var p = Param();
        using var q = Param();
        using var opt = new AdamW(new[] { p, q }, lr: 0.1);
        p.grad = torch.tensor(Grads[0]);
        q.grad = null;                                                        // as TorchSharp's Module.zero_grad() leaves it
        opt.step();
        Assert.Equal(P0, q.data<double>().ToArray());                          // no grad, no update (not even weight decay)
        Assert.NotEqual(P0, p.data<double>().ToArray());
        var (m, v) = opt.StateOf(0);
        Assert.Equal(0.0, m[1].abs().sum().ToDouble());                       // and no moments
        Assert.Equal(0.0, v[1].abs().sum().ToDouble());
    }

    [Fact]
    public void Parameters_and_gradients_become_views_of_one_buffer_that_backward_accumulates_into()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        var a = torch.randn(new long[] { 3, 4 }, ScalarType.Float64, requires_grad: true).DetachFromDisposeScope();
        var b = torch.randn(new long[] { 5 }, ScalarType.Float64, requires_grad: true).DetachFromDisposeScope();
        var valuesBefore = a.data<double>().ToArray();
        using var opt = new SGD(new[] { a, b }, lr: 0.5);
        Assert.Equal(valuesBefore, a.data<double>().ToArray());                // the values survive the move into the buffer
        Assert.Equal(new long[] { 3, 4 }, a.shape);
        Assert.Equal(12, b.storage_offset());                                 // b sits right after a's 12 elements
        Assert.Equal(0.0, a.grad!.abs().sum().ToDouble());                    // gradients start as zero views, not null

        // Two backward passes accumulate into the same buffer, as into any .grad.
        (a.sum() * 2 + b.sum()).backward();
        (a.sum() * 3).backward();
        Assert.All(a.grad!.data<double>().ToArray(), g => Assert.Equal(5.0, g));
        Assert.All(b.grad!.data<double>().ToArray(), g => Assert.Equal(1.0, g));
        opt.step();
        Assert.Equal(valuesBefore.Select(x => x - 0.5 * 5).ToArray(), a.data<double>().ToArray());

        // zero_grad clears the buffer in place: the gradients stay (zero) views, and the next backward lands in them.
        opt.zero_grad();
        Assert.Equal(0.0, a.grad!.abs().sum().ToDouble());
        b.sum().backward();
        Assert.All(b.grad!.data<double>().ToArray(), g => Assert.Equal(1.0, g));
    }

    [Fact]
    public void A_gradient_replaced_or_removed_by_other_code_is_taken_back_into_the_buffer()
    {
        using var scope = torch.NewDisposeScope();
        using var p = Param();
        using var opt = new SGD(new[] { p }, lr: 1.0);
        p.grad = torch.tensor(new double[] { 1, 2, 3, 4 });                   // a fresh tensor, not the buffer's view
        opt.step();
        Assert.Equal(P0.Zip(new double[] { 1, 2, 3, 4 }, (x, g) => x - g).ToArray(), p.data<double>().ToArray());
        p.grad = null;                                                        // as TorchSharp's Module.zero_grad() does
        var before = p.data<double>().ToArray();
        opt.step();
        Assert.Equal(before, p.data<double>().ToArray());                     // no gradient, no update
        p.sum().backward();                                                   // and backward lands in the buffer again
        Assert.All(p.grad!.data<double>().ToArray(), g => Assert.Equal(1.0, g));
    }

    [Fact]
    public void A_bf16_parameter_is_updated_through_a_float32_master_copy_so_small_steps_add_up()
    {
        using var scope = torch.NewDisposeScope();
        // 1 + 1e-3 is not a bf16 number (its spacing near 1 is 2^-7 ≈ 0.0078): without a master copy each of these
        // steps would round away; with it, 20 steps of 1e-3 move the weight by 0.02, which bf16 can show.
        var p = torch.ones(new long[] { 4 }, ScalarType.BFloat16, requires_grad: true).DetachFromDisposeScope();
        using var opt = new SGD(new[] { p }, lr: 1e-3);
        for (int i = 0; i < 20; i++)
        {
            opt.zero_grad();
            p.grad = torch.full(new long[] { 4 }, -1.0, ScalarType.BFloat16);
            opt.step();
        }
        Assert.Equal(ScalarType.BFloat16, p.dtype);
        Assert.All(p.to(ScalarType.Float64).data<double>().ToArray(), x => Assert.InRange(x, 1.015, 1.025));
    }

    [Fact]
    public void Lion_and_SGD_keep_float32_state_for_a_bf16_parameter_and_update_it()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var make in new Func<Tensor, Optimizer>[] { p => new Lion(new[] { p }, lr: 0.01), p => new SGD(new[] { p }, lr: 0.1, momentum: 0.9) })
        {
            var p = torch.tensor(P0).to(ScalarType.BFloat16).requires_grad_();
            var before = p.to(ScalarType.Float64).data<double>().ToArray();
            using var opt = make(p);
            p.grad = torch.tensor(Grads[1]).to(ScalarType.BFloat16);
            opt.step();
            Assert.Equal(ScalarType.BFloat16, p.dtype);
            var after = p.to(ScalarType.Float64).data<double>().ToArray();
            Assert.True(after.Zip(before).Count(x => x.First != x.Second) >= 3, $"{opt.GetType().Name} did not move the bf16 parameter");
        }
        Assert.Equal(ScalarType.Float32, Optimizer.StateDtype(ScalarType.BFloat16));
        Assert.Equal(ScalarType.Float32, Optimizer.StateDtype(ScalarType.Float16));
        Assert.Equal(ScalarType.Float64, Optimizer.StateDtype(ScalarType.Float64));
    }

    [Fact]
    public void Clip_grad_norm_returns_the_global_norm_and_scales_to_max_norm()
    {
        using var scope = torch.NewDisposeScope();
        using var p = Param();
        using var q = torch.tensor(new double[] { 1, 2 }, requires_grad: true).DetachFromDisposeScope();
        p.grad = torch.tensor(new double[] { 3, 0, 0, 0 });
        q.grad = torch.tensor(new double[] { 0, 4 });
        double norm = Optimizer.ClipGradNorm(new[] { p, q }, max_norm: 1.0);
        Assert.Equal(5.0, norm, 12);
        double after = Math.Sqrt(p.grad!.pow(2).sum().ToDouble() + q.grad!.pow(2).sum().ToDouble());
        Assert.Equal(1.0, after, 5);
        Assert.Equal(after, Optimizer.ClipGradNorm(new[] { p, q }, max_norm: 10), 12);   // under the limit: unchanged
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoraPlus_groups_carry_the_right_rates(bool boost1d)
    {
        using var scope = torch.NewDisposeScope();
        using var model = new LlamaForSequenceClassification(TestSupport.TinyLlama());
        LoraAdapters.Apply(model, new LoraConfig(r: 2, modules_to_save: "score,norm"));
        var groups = LoraPlus.ParamGroups(model, lr: 1e-3, lr_ratio: 16, weight_decay: 0.1, boost_1d: boost1d);
        var byName = groups.ToDictionary(g => g.name);
        Assert.Equal(1e-3, byName["lora_A"].lr);
        Assert.Equal(16e-3, byName["lora_B"].lr, 15);
        Assert.Equal(1e-3, byName["other"].lr);                               // the score head
        Assert.Equal(boost1d ? 16e-3 : 1e-3, byName["no_decay"].lr, 15);      // norm scales
        Assert.Equal(0, byName["no_decay"].weight_decay);
        Assert.Equal(4, byName["lora_B"].parameters.Count);
        var names = model.named_parameters().ToDictionary(p => (object)p.parameter, p => p.name, ReferenceEqualityComparer.Instance);
        Assert.All(byName["lora_B"].parameters, p => Assert.EndsWith("lora_B.weight", names[p]));
        Assert.All(byName["lora_A"].parameters, p => Assert.EndsWith("lora_A.weight", names[p]));
        Assert.Equal(model.num_parameters(trainableOnly: true), groups.Sum(g => g.parameters.Sum(p => p.numel())));
    }

    [Fact]
    public void Schedules_match_their_formulas_at_chosen_steps()
    {
        Assert.Equal(1.0, Schedules.Constant()(12345));

        var linear = Schedules.Linear(total_steps: 100, warmup_ratio: 0.1);       // warmup 10
        Assert.Equal(0.0, linear(0));
        Assert.Equal(0.5, linear(5), 12);
        Assert.Equal(1.0, linear(10), 12);
        Assert.Equal(45.0 / 90, linear(55), 12);
        Assert.Equal(0.0, linear(100), 12);

        var cosine = Schedules.Cosine(total_steps: 200, warmup_ratio: 0.05, min_ratio: 0.1);   // warmup 10
        Assert.Equal(0.3, cosine(3), 12);
        Assert.Equal(1.0, cosine(10), 12);
        Assert.Equal(0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * 95 / 190)), cosine(105), 12);
        Assert.Equal(0.1, cosine(200), 12);

        var inv = Schedules.InverseSqrt(warmup_steps: 10, timescale: 20, cooldown_steps: 30, total_steps: 130);
        Assert.Equal(0.4, inv(4), 12);
        Assert.Equal(1.0, inv(10), 12);
        Assert.Equal(1 / Math.Sqrt(1 + 50.0 / 20), inv(60), 12);
        double atCooldown = 1 / Math.Sqrt(1 + 90.0 / 20);
        Assert.Equal(atCooldown, inv(100), 12);
        Assert.Equal(atCooldown * 10 / 30, inv(120), 12);
        Assert.Equal(0.0, inv(130), 12);
    }

    [Fact]
    public void SetLrFactor_scales_every_groups_base_rate()
    {
        using var scope = torch.NewDisposeScope();
        using var p = Param();
        using var q = Param();
        using var opt = new SGD(new[] { new ParamGroup(new[] { p }, 0.1, name: "a"), new ParamGroup(new[] { q }, 1.6, name: "b") });
        opt.SetLrFactor(Schedules.Linear(10, 0.5)(2));
        Assert.Equal(0.04, opt.param_groups[0].lr, 12);
        Assert.Equal(0.64, opt.param_groups[1].lr, 12);
        Assert.Throws<ArgumentException>(() => new SGD(new[] { new ParamGroup(new[] { p }, 0.1), new ParamGroup(new[] { p }, 0.1) }));
    }
}
