using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Torch.Tests;

/// <summary>The CUDA path; skipped (with the reason shown) on machines without a GPU.</summary>
public class CudaTests
{
    [CudaFact]
    public void A_step_on_the_gpu_matches_the_cpu()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var x = torch.randn(new long[] { 16, 8 }, torch.float64);
        var w = torch.randn(new long[] { 4, 8 }, torch.float64);
        var target = torch.randint(4, new long[] { 16 });
        double Loss(Device d, out Tensor grad)
        {
            // A fresh leaf per device: w.to(cpu) is w itself, so marking it would make w.to(cuda) a non-leaf without .grad.
            var wd = w.detach().to(d).requires_grad_();
            var loss = F.cross_entropy(F.linear(x.to(d), wd), target.to(d));
            loss.backward();
            grad = wd.grad!.cpu();
            return loss.ToDouble();
        }
        double cpu = Loss(Device.CPU, out var gCpu), gpu = Loss(Device.CUDA, out var gGpu);
        Assert.Equal(cpu, gpu, 10);
        Assert.True(gCpu.allclose(gGpu, atol: 1e-10));
    }

    [CudaFact]
    public void Memory_statistics_see_an_allocation()
    {
        torch.cuda.synchronize();
        long before = torch.cuda.memory_allocated();
        using var big = torch.zeros(new long[] { 1024, 1024 }, device: Device.CUDA);
        torch.cuda.synchronize();
        Assert.True(torch.cuda.memory_allocated() >= before + 4L * 1024 * 1024);
        Assert.True(torch.cuda.max_memory_allocated() >= torch.cuda.memory_allocated());
        Assert.True(torch.cuda.device_count() >= 1);
    }

    [CudaFact]
    public void Bfloat16_matmul_runs_on_the_gpu_close_to_float32()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn(new long[] { 64, 64 }, device: Device.CUDA);
        var b = torch.randn(new long[] { 64, 64 }, device: Device.CUDA);
        var exact = a.matmul(b);
        var approx = a.to(torch.bfloat16).matmul(b.to(torch.bfloat16)).to(torch.float32);
        Assert.True(((exact - approx).norm() / exact.norm()).ToDouble() < 1e-2);
    }

    [CudaFact]
    public void Fused_attention_matches_the_reference_on_the_gpu()
    {
        using var scope = torch.NewDisposeScope();
        var q = torch.randn(new long[] { 2, 4, 16, 8 }, device: Device.CUDA);
        var k = torch.randn(new long[] { 2, 4, 16, 8 }, device: Device.CUDA);
        var v = torch.randn(new long[] { 2, 4, 16, 8 }, device: Device.CUDA);
        Assert.True(F.scaled_dot_product_attention(q, k, v, is_causal: true)
                     .allclose(F.attention_reference(q, k, v, is_causal: true), atol: 1e-4));
    }

    // Two identical parameter groups on the GPU (float32), with fixed gradients.
    private static (Tensor[] p, Tensor[] m, Tensor[] v, Tensor[] steps) GpuGroup(int seed)
    {
        torch.manual_seed(seed);
        long[][] shapes = { new long[] { 64, 32 }, new long[] { 32 } };
        var p = shapes.Select(s => torch.randn(s, device: Device.CUDA).requires_grad_()).ToArray();
        foreach (var t in p) t.grad = torch.randn(t.shape, device: Device.CUDA);
        var m = shapes.Select(s => torch.zeros(s, device: Device.CUDA)).ToArray();
        var v = shapes.Select(s => torch.zeros(s, device: Device.CUDA)).ToArray();
        var steps = shapes.Select(_ => torch.zeros(Array.Empty<long>(), ScalarType.Float32, Device.CUDA)).ToArray();
        return (p, m, v, steps);
    }

    [CudaFact]
    public void The_fastest_AdamW_on_the_gpu_matches_the_loop()
    {
        using var scope = torch.NewDisposeScope();
        var (p1, m1, v1, _) = GpuGroup(21);
        var (p2, m2, v2, d2) = GpuGroup(21);
        long[] s1 = new long[2], s2 = new long[2];
        var expected = torch.optim_kernels.has_fused_adamw(Device.CUDA) ? OptimizerImpl.Fused : OptimizerImpl.Foreach;
        for (int i = 0; i < 3; i++)
        {
            torch.optim_kernels.adamw_(p1, m1, v1, s1, 1e-2, 0.9, 0.999, 1e-8, 0.1, OptimizerImpl.Loop);
            Assert.Equal(expected, torch.optim_kernels.adamw_(p2, m2, v2, s2, 1e-2, 0.9, 0.999, 1e-8, 0.1, OptimizerImpl.Auto, d2));
        }
        for (int i = 0; i < 2; i++) Assert.True(p1[i].allclose(p2[i], rtol: 1e-5, atol: 1e-6), $"parameter {i}");
        Assert.Equal(3.0, d2[0].cpu().ToDouble());
    }

    [CudaFact]
    public void Foreach_Lion_on_the_gpu_matches_the_loop()
    {
        using var scope = torch.NewDisposeScope();
        var (p1, m1, _, _) = GpuGroup(22);
        var (p2, m2, _, _) = GpuGroup(22);
        for (int i = 0; i < 3; i++)
        {
            torch.optim_kernels.lion_(p1, m1, 1e-3, 0.9, 0.99, 0.1, OptimizerImpl.Loop);
            Assert.Equal(OptimizerImpl.Foreach, torch.optim_kernels.lion_(p2, m2, 1e-3, 0.9, 0.99, 0.1));
        }
        for (int i = 0; i < 2; i++) Assert.True(p1[i].allclose(p2[i], rtol: 1e-5, atol: 1e-6), $"parameter {i}");
    }

    [CudaFact]
    public void Float32_cross_entropy_of_bf16_logits_on_the_gpu_matches_float64()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(23);
        var logits = (torch.randn(new long[] { 300, 1000 }, device: Device.CUDA) * 3).to(ScalarType.BFloat16).requires_grad_();
        var target = torch.randint(1000, new long[] { 300 }, device: Device.CUDA);
        var reference = logits.detach().to(ScalarType.Float64).requires_grad_();
        var loss = F.cross_entropy(logits, target);
        var expected = F.cross_entropy(reference, target);
        Assert.Equal(ScalarType.Float32, loss.dtype);
        Assert.Equal(expected.ToDouble(), loss.ToDouble(), 4);
        loss.backward();
        expected.backward();
        double error = (logits.grad!.to(ScalarType.Float64) - reference.grad!).abs().max().ToDouble();
        Assert.True(error <= 4e-3 * reference.grad!.abs().max().ToDouble(), $"gradient off by {error}");
    }

    [CudaFact]
    public void A_cuda_graph_replays_a_whole_training_step_as_the_eager_step_does()
    {
        Assert.True(torch.cuda.graphs_supported(), "a CUDA libtorch should give the shim CUDA graphs (LORALAB_WITH_CUDA_GRAPHS; see shim/CMakeLists.txt)");
        Assert.True(torch.optim_kernels.has_fused_adamw(Device.CUDA), "capturing the optimizer needs the fused AdamW (libtorch >= 2.0)");
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(24);
        var x = torch.randn(new long[] { 32, 16 }, device: Device.CUDA);
        var y = torch.randn(new long[] { 32, 4 }, device: Device.CUDA);
        var w0 = torch.randn(new long[] { 4, 16 }, device: Device.CUDA);

        Tensor Train(bool graphed)
        {
            var w = w0.clone().requires_grad_();
            var m = new[] { torch.zeros(w.shape, device: Device.CUDA) };
            var v = new[] { torch.zeros(w.shape, device: Device.CUDA) };
            var d = new[] { torch.zeros(Array.Empty<long>(), ScalarType.Float32, Device.CUDA) };
            var steps = new long[1];
            void Step()
            {
                using var inner = torch.NewDisposeScope();
                F.mse_loss(F.linear(x, w), y).backward();
                torch.optim_kernels.adamw_(new[] { w }, m, v, steps, 1e-2, 0.9, 0.999, 1e-8, 0.0, OptimizerImpl.Fused, d);
            }
            if (!graphed)
            {
                for (int i = 0; i < 8; i++) { w.grad = null; Step(); }
                return w.detach();
            }
            using var graph = new torch.cuda.CUDAGraph();
            graph.Warmup(() => { for (int i = 0; i < 3; i++) { w.grad = null; Step(); } });
            w.grad = null;
            graph.Capture(Step);                  // records, runs nothing
            for (int i = 0; i < 5; i++) graph.Replay();
            torch.cuda.synchronize();
            Assert.Equal(8.0, d[0].cpu().ToDouble());
            return w.detach().clone();
        }
        var eager = Train(false);
        var replayed = Train(true);
        Assert.True(eager.allclose(replayed, rtol: 1e-5, atol: 1e-6), $"max difference {(eager - replayed).abs().max().ToDouble():G3}");
    }
}
