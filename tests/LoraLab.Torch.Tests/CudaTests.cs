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
}
