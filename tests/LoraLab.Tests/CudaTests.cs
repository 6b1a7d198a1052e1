using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests;

/// <summary>A [Fact] that runs only where libtorch sees a CUDA device (the GPU machine's test stage); elsewhere it is
/// skipped with the reason shown.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!torch.cuda.is_available()) Skip = "no CUDA device here (the GPU machine runs these: tests/gpu/run-on-gpu.sh tests Cuda)";
    }
}

/// <summary>LoRA on the GPU against the same computation on the CPU: what TorchSharp on the GPU machine's libtorch must
/// reproduce before any GPU result is believed.</summary>
public class CudaTests
{
    // The same model, LoRA factors and batch on a device (the base in `dtype`, the factors float32): three AdamW steps;
    // the losses, and the trained factors brought to the CPU. Everything is drawn on the CPU, so both devices start equal.
    private static (double[] losses, Dictionary<string, Tensor> factors) ThreeSteps(Device device, ScalarType dtype)
    {
        var recipe = new LoraConfig(r: 4, lora_alpha: 8, target_modules: LoraConfig.AllLinear, init: LoraInit.InitA_Gaussian);
        torch.manual_seed(11);
        using var source = new LlamaForCausalLM(TestSupport.TinyLlama(), ScalarType.Float32);
        LoraAdapters.Apply(source, recipe);
        // B starts at zero: give it values, so that the first step already moves A and the comparison covers both.
        using (torch.no_grad())
            foreach (var (name, p) in source.named_parameters().Where(p => p.name.Contains("lora_B")))
                p.copy_(torch.randn(p.shape, generator: new Generator((ulong)name.Length)) * 0.05);

        using var model = new LlamaForCausalLM(TestSupport.TinyLlama(), dtype, device);
        LoraAdapters.Apply(model, recipe);
        model.load_state_dict_checked(source.state_dict());
        var ids = torch.randint(48, new long[] { 4, 16 }, generator: new Generator(5UL)).to(device);
        using var optimizer = new AdamW(model.parameters().Where(p => p.requires_grad).ToList(), lr: 1e-2, weight_decay: 0);
        var losses = new double[3];
        for (int step = 0; step < 3; step++)
        {
            optimizer.zero_grad();
            var loss = model.Loss(ids);
            loss.backward();
            optimizer.step();
            losses[step] = loss.ToDouble();
        }
        var factors = model.named_parameters().Where(p => p.parameter.requires_grad).ToDictionary(p => p.name, p => p.parameter.detach().cpu().to(ScalarType.Float64));
        return (losses, factors);
    }

    [CudaFact]
    public void Three_LoRA_steps_on_the_gpu_match_the_cpu()
    {
        var (cpuLosses, cpuFactors) = ThreeSteps(torch.CPU, ScalarType.Float32);
        var (gpuLosses, gpuFactors) = ThreeSteps(torch.CUDA, ScalarType.Float32);
        for (int i = 0; i < 3; i++) Assert.Equal(cpuLosses[i], gpuLosses[i], 3);     // TF32 matmuls allow ~1e-3
        foreach (var (name, cpu) in cpuFactors)
            Assert.True(TestSupport.MaxAbsDiff(cpu, gpuFactors[name]) < 2e-3, $"{name} differs by {TestSupport.MaxAbsDiff(cpu, gpuFactors[name]):G3}");
    }

    [CudaFact]
    public void LoRA_on_a_bf16_base_on_the_gpu_follows_the_float32_run()
    {
        var (fp32Losses, _) = ThreeSteps(torch.CUDA, ScalarType.Float32);
        var (bf16Losses, _) = ThreeSteps(torch.CUDA, ScalarType.BFloat16);
        for (int i = 0; i < 3; i++) Assert.True(Math.Abs(fp32Losses[i] - bf16Losses[i]) < 0.05 * fp32Losses[i], $"step {i}: {bf16Losses[i]} against {fp32Losses[i]}");
    }

    [Fact]
    public void LoRA_on_a_bf16_base_on_the_cpu_follows_the_float32_run_as_the_gpu_test_expects()
    {
        // The GPU tests' harness and the bf16 property, where it can always run.
        var (fp32Losses, fp32Factors) = ThreeSteps(torch.CPU, ScalarType.Float32);
        var (again, _) = ThreeSteps(torch.CPU, ScalarType.Float32);
        var (bf16Losses, _) = ThreeSteps(torch.CPU, ScalarType.BFloat16);
        Assert.Equal(fp32Losses, again);                                    // the harness starts both runs equal
        Assert.True(fp32Losses[2] < fp32Losses[0], "three steps should lower the loss");
        Assert.Equal(2 * 7 * 2, fp32Factors.Count);                         // A and B of the 7 projections of 2 layers
        for (int i = 0; i < 3; i++) Assert.True(Math.Abs(fp32Losses[i] - bf16Losses[i]) < 0.05 * fp32Losses[i], $"step {i}: {bf16Losses[i]} against {fp32Losses[i]}");
    }
}
