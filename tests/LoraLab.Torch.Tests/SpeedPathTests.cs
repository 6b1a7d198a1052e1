using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Torch.Tests;

/// <summary>The fast paths (multi-tensor optimizer kernels, chunked float32 cross-entropy, CUDA graphs)
/// agree with the plain ones, and each says clearly when this libtorch lacks it.</summary>
public class SpeedPathTests
{
    // Three parameters of different shapes with fixed gradients; the third has no grad (skipped).
    private static (Tensor[] p, Tensor[] m, Tensor[] v) Group(ScalarType dtype, Device device, int seed)
    {
        torch.manual_seed(seed);
        long[][] shapes = { new long[] { 5, 3 }, new long[] { 7 }, new long[] { 2, 2 } };
        var p = shapes.Select(s => torch.randn(s, dtype, device).requires_grad_().DetachFromDisposeScope()).ToArray();
        for (int i = 0; i < 2; i++) p[i].grad = torch.randn(shapes[i], dtype, device);
        var m = shapes.Select(s => torch.zeros(s, dtype, device).DetachFromDisposeScope()).ToArray();
        var v = shapes.Select(s => torch.zeros(s, dtype, device).DetachFromDisposeScope()).ToArray();
        return (p, m, v);
    }

    private static void SameParameters(Tensor[] a, Tensor[] b, double atol)
    {
        for (int i = 0; i < a.Length; i++)
            Assert.True(a[i].cpu().allclose(b[i].cpu(), rtol: 1e-6, atol: atol), $"parameter {i}: {(a[i].cpu() - b[i].cpu()).abs().max().ToDouble():G3} apart");
    }

    private static void AdamWAgrees(OptimizerImpl fast, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var (p1, m1, v1) = Group(ScalarType.Float64, device, 5);
        var (p2, m2, v2) = Group(ScalarType.Float64, device, 5);
        long[] s1 = new long[3], s2 = new long[3];
        var deviceSteps = fast == OptimizerImpl.Fused ? p2.Select(p => torch.zeros(Array.Empty<long>(), ScalarType.Float32, p.device)).ToArray() : null;
        for (int step = 0; step < 3; step++)
        {
            Assert.Equal(OptimizerImpl.Loop, torch.optim_kernels.adamw_(p1, m1, v1, s1, 0.05, 0.9, 0.99, 1e-8, 0.1, OptimizerImpl.Loop));
            Assert.Equal(fast, torch.optim_kernels.adamw_(p2, m2, v2, s2, 0.05, 0.9, 0.99, 1e-8, 0.1, fast, deviceSteps));
        }
        SameParameters(p1, p2, 1e-12);
        Assert.Equal(s1, s2);
        Assert.Equal(new long[] { 3, 3, 0 }, s2);
    }

    [Fact]
    public void Foreach_AdamW_matches_the_loop_and_skips_parameters_without_grad() => AdamWAgrees(OptimizerImpl.Foreach, Device.CPU);

    [Fact]
    public void Foreach_Lion_matches_the_loop()
    {
        using var scope = torch.NewDisposeScope();
        var (p1, m1, _) = Group(ScalarType.Float64, Device.CPU, 6);
        var (p2, m2, _) = Group(ScalarType.Float64, Device.CPU, 6);
        for (int step = 0; step < 3; step++)
        {
            torch.optim_kernels.lion_(p1, m1, 0.01, 0.9, 0.99, 0.1, OptimizerImpl.Loop);
            Assert.Equal(OptimizerImpl.Foreach, torch.optim_kernels.lion_(p2, m2, 0.01, 0.9, 0.99, 0.1, OptimizerImpl.Foreach));
        }
        SameParameters(p1, p2, 1e-12);
    }

    [Fact]
    public void Auto_on_the_cpu_runs_the_fused_kernel_only_where_libtorch_has_one()
    {
        using var scope = torch.NewDisposeScope();
        bool fused = torch.optim_kernels.has_fused_adamw(Device.CPU);
        var (major, minor, _) = torch.version;
        Assert.Equal(major > 2 || (major == 2 && minor >= 4), fused);
        Assert.True(torch.optim_kernels.has_foreach);
        var (p, m, v) = Group(ScalarType.Float32, Device.CPU, 7);
        var deviceSteps = p.Select(_ => torch.zeros(Array.Empty<long>(), ScalarType.Float32)).ToArray();
        var ran = torch.optim_kernels.adamw_(p, m, v, new long[3], 1e-3, 0.9, 0.999, 1e-8, 0, OptimizerImpl.Auto, deviceSteps);
        Assert.Equal(fused ? OptimizerImpl.Fused : OptimizerImpl.Loop, ran);
        if (fused) AdamWAgrees(OptimizerImpl.Fused, Device.CPU);
        else
        {
            var e = Assert.Throws<TorchException>(() => torch.optim_kernels.adamw_(p, m, v, new long[3], 1e-3, 0.9, 0.999, 1e-8, 0, OptimizerImpl.Fused, deviceSteps));
            Assert.Contains("no fused AdamW", e.Message);
        }
    }

    [Fact]
    public void Foreach_AdamW_on_bf16_parameters_with_float32_state_matches_the_loop()
    {
        using var scope = torch.NewDisposeScope();
        (Tensor[] p, Tensor[] m, Tensor[] v) Make()
        {
            torch.manual_seed(8);
            var p = new[] { torch.randn(new long[] { 6, 5 }).to(ScalarType.BFloat16).requires_grad_(), torch.randn(new long[] { 9 }).to(ScalarType.BFloat16).requires_grad_() };
            foreach (var t in p) t.grad = torch.randn(t.shape).to(ScalarType.BFloat16);
            return (p, p.Select(t => torch.zeros(t.shape)).ToArray(), p.Select(t => torch.zeros(t.shape)).ToArray());
        }
        var (p1, m1, v1) = Make();
        var (p2, m2, v2) = Make();
        long[] s1 = new long[2], s2 = new long[2];
        for (int step = 0; step < 3; step++)
        {
            torch.optim_kernels.adamw_(p1, m1, v1, s1, 0.05, 0.9, 0.99, 1e-8, 0.1, OptimizerImpl.Loop);
            Assert.Equal(OptimizerImpl.Foreach, torch.optim_kernels.adamw_(p2, m2, v2, s2, 0.05, 0.9, 0.99, 1e-8, 0.1, OptimizerImpl.Foreach));
        }
        Assert.Equal(ScalarType.BFloat16, p2[0].dtype);
        SameParameters(p1, p2, 0);                 // the same float32 arithmetic, rounded once per step
        SameParameters(m1, m2, 1e-7);
    }

    [Fact]
    public void Foreach_refuses_a_group_of_mixed_dtypes_with_a_clear_error()
    {
        using var scope = torch.NewDisposeScope();
        var p = new[] { torch.randn(new long[] { 3 }).requires_grad_() };
        p[0].grad = torch.ones(new long[] { 3 });
        var m = new[] { torch.zeros(new long[] { 3 }, ScalarType.Float64) };     // state wider than float32: not a half/float32 pair
        var v = new[] { torch.zeros(new long[] { 3 }) };
        var e = Assert.Throws<TorchException>(() => torch.optim_kernels.adamw_(p, m, v, new long[1], 1e-3, 0.9, 0.999, 1e-8, 0, OptimizerImpl.Foreach));
        Assert.Contains("one dtype", e.Message);
    }

    [Theory]
    [InlineData(torch.nn.Reduction.Mean)]
    [InlineData(torch.nn.Reduction.Sum)]
    [InlineData(torch.nn.Reduction.None)]
    public void Float32_cross_entropy_of_bf16_logits_matches_float64_in_value_and_gradient(torch.nn.Reduction reduction)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        var logits = (torch.randn(new long[] { 10, 37 }) * 4).to(ScalarType.BFloat16).requires_grad_();
        long[] classes = Enumerable.Range(0, 10).Select(i => (long)((i * 7 + 3) % 37)).ToArray();
        classes[3] = -100;   // ignored
        var target = torch.tensor(classes);
        var reference = logits.detach().to(ScalarType.Float64).requires_grad_();

        var loss = F.cross_entropy_fp32(logits, target, reduction, chunk_rows: 3);   // four chunks, the last short
        var expected = F.cross_entropy(reference, target, reduction: reduction);
        Assert.Equal(ScalarType.Float32, loss.dtype);
        Assert.True(loss.to(ScalarType.Float64).allclose(expected, rtol: 1e-5, atol: 1e-5), $"{loss} vs {expected}");

        var seed = reduction == torch.nn.Reduction.None ? torch.linspace(0.5, 1.5, 10) : torch.ones(Array.Empty<long>(), ScalarType.Float64);
        loss.backward(seed.to(ScalarType.Float32));
        expected.backward(seed.to(ScalarType.Float64));
        Assert.Equal(ScalarType.BFloat16, logits.grad!.dtype);
        // The gradient is rounded once to bf16 (8 bits of mantissa).
        var error = (logits.grad!.to(ScalarType.Float64) - reference.grad!).abs().max().ToDouble();
        Assert.True(error <= 4e-3 * reference.grad!.abs().max().ToDouble(), $"gradient off by {error}");
        Assert.Equal(0.0, logits.grad![3].abs().sum().ToDouble());
    }

    [Fact]
    public void Cross_entropy_of_bf16_logits_is_computed_in_float32()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(12);
        var logits = torch.randn(new long[] { 6, 5, 9 }).to(ScalarType.BFloat16);  // [N, C, d]: the cast path
        var target = torch.randint(5, new long[] { 6, 9 });
        var loss = F.cross_entropy(logits, target);
        Assert.Equal(ScalarType.Float32, loss.dtype);
        Assert.Equal(F.cross_entropy(logits.to(ScalarType.Float32), target).ToDouble(), loss.ToDouble(), 6);
        var flat = torch.randn(new long[] { 6, 5 }).to(ScalarType.BFloat16);       // [N, C]: the chunked path
        var t = torch.randint(5, new long[] { 6 });
        Assert.Equal(F.cross_entropy(flat.to(ScalarType.Float32), t).ToDouble(), F.cross_entropy(flat, t).ToDouble(), 5);
    }

    [Fact]
    public void Cross_entropy_fp32_names_a_bad_shape()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<TorchException>(() => F.cross_entropy_fp32(torch.randn(4, 3), torch.randint(3, new long[] { 5 })));
        Assert.Contains("targets [4]", e.Message);
    }

    [Fact]
    public void Dropout_with_p_0_is_the_identity()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(new long[] { 4, 8 }).requires_grad_();
        var y = F.dropout(x, 0.0, training: true);
        Assert.True(y.allclose(x, rtol: 0, atol: 0));
        y.sum().backward();
        Assert.True(x.grad!.allclose(torch.ones(4, 8)));
    }

    [Fact]
    public void Cuda_graphs_report_unsupported_clearly_where_there_is_no_gpu()
    {
        if (torch.cuda.is_available()) return;   // the GPU side is CudaTests.A_cuda_graph_replays_a_training_step
        Assert.False(torch.cuda.graphs_supported());
        var e = Assert.Throws<NotSupportedException>(() => new torch.cuda.CUDAGraph());
        Assert.Contains("CUDA graphs need", e.Message);
    }
}
