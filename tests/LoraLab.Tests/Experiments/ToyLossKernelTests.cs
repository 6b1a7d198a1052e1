using LoraLab.Experiments;
using LoraLab.Lora;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Tests.Experiments;

/// <summary>The toy's CPU kernel against libtorch's autograd on the same member: the same loss, gradients and feature norms.</summary>
public class ToyLossKernelTests
{
    private static ToyConfig Config(int n, int r, LoraInit init, double lr = 1e-2, int steps = 40, int n_train = 48) =>
        new(n, init, lr, max_steps: steps, r: r, lora_alpha: 2 * r, n_train: n_train, n_test: 16, planted_rank: 1, delta_scale: 0.5, log_every: 5);

    private static double Relative(double a, double b) => Math.Abs(a - b) / Math.Max(Math.Abs(b), 1e-12);

    // Both factors non-zero, as after some training, so that every term of the gradients counts.
    private static ToyLora.Member Trained(ToyConfig c, int seed)
    {
        var member = new ToyLora.Member(c, seed, torch.CPU);
        using var noGrad = torch.no_grad();
        member.lora.lora_A.normal_(0, 1 / Math.Sqrt(c.n));
        member.lora.lora_B.normal_(0, 1 / Math.Sqrt(c.r));
        return member;
    }

    private static (double loss, Tensor gradA, Tensor gradB) Gradients(ToyLora.Member member, bool kernel)
    {
        var (a, b) = (member.lora.lora_A, member.lora.lora_B);
        a.grad?.zero_();
        b.grad?.zero_();
        var loss = kernel ? member.KernelLoss() : F.mse_loss(member.Predict(member.z_train, member.wz_train), member.y_train);
        loss.backward();
        return (loss.ToDouble(), a.grad!.clone(), b.grad!.clone());
    }

    // Widths that are and are not multiples of the vector width (the kernel's tail loops), ranks 1 to 5, and numbers of
    // training points that are and are not multiples of the kernel's block of four (its padded last block).
    [Theory]
    [InlineData(64, 4, 48)]
    [InlineData(37, 3, 48)]
    [InlineData(1000, 1, 48)]
    [InlineData(257, 5, 48)]
    [InlineData(300, 2, 49)]
    [InlineData(129, 4, 51)]
    public void The_kernel_computes_the_loss_and_the_gradients_of_A_and_B_that_autograd_computes(int n, int r, int n_train)
    {
        using var member = Trained(Config(n, r, LoraInit.InitA_Gaussian, n_train: n_train), seed: n);
        var (lossTorch, gradATorch, gradBTorch) = Gradients(member, kernel: false);
        var (lossKernel, gradAKernel, gradBKernel) = Gradients(member, kernel: true);
        Assert.True(Relative(lossKernel, lossTorch) < 1e-5, $"loss {lossKernel} by the kernel, {lossTorch} by libtorch");
        foreach (var (name, kernel, reference) in new[] { ("A", gradAKernel, gradATorch), ("B", gradBKernel, gradBTorch) })
        {
            Assert.Equal(reference.shape, kernel.shape);
            double scale = reference.abs().max().ToDouble();
            Assert.True(scale > 0, $"the gradient of {name} is zero: the test would not see a wrong one");
            double gap = TestSupport.MaxAbsDiff(kernel, reference);
            Assert.True(gap < 1e-5 * scale, $"the gradient of {name} differs by {gap} (largest entry {scale})");
        }
    }

    [Fact]
    public void The_kernels_feature_norms_are_the_libtorch_ones()
    {
        using var member = Trained(Config(203, 3, LoraInit.InitB_Gaussian), seed: 5);
        var (normA, normBA) = member.FeatureNorms(kernel: false);
        var (kernelA, kernelBA) = member.FeatureNorms(kernel: true);
        Assert.True(Relative(kernelA, normA) < 1e-5, $"‖Z_A‖ {kernelA} by the kernel, {normA} by libtorch");
        Assert.True(Relative(kernelBA, normBA) < 1e-5, $"‖Z_B‖ {kernelBA} by the kernel, {normBA} by libtorch");
    }

    [Theory]
    [InlineData(LoraInit.InitA_Gaussian, 1e-2)]
    [InlineData(LoraInit.InitB_Gaussian, 3e-3)]
    public void A_run_trained_by_the_kernel_ends_where_the_libtorch_run_ends(LoraInit init, double lr)
    {
        var c = Config(130, 4, init, lr, steps: 60);
        Assert.True(c.n >= ToyLossKernel.MinWidth, "a width where Train uses the kernel");
        var byKernel = ToyLora.Train(c, 1, null, torch.CPU, rowBlocks: null, kernel: true);
        var byTorch = ToyLora.Train(c, 1, null, torch.CPU, rowBlocks: null, kernel: false);
        Assert.Equal(byTorch.Status, byKernel.Status);
        // Sixty Adam steps from the same start: float32 rounding in a different order, not a different computation.
        foreach (var metric in new[] { "train_loss", "eval_loss" })
            Assert.True(Relative(byKernel.FinalMetrics[metric], byTorch.FinalMetrics[metric]) < 1e-3,
                        $"{metric}: {byKernel.FinalMetrics[metric]} by the kernel, {byTorch.FinalMetrics[metric]} by libtorch");
    }

    [Fact]
    public void A_rate_that_diverges_under_libtorch_diverges_under_the_kernel_at_the_same_step()
    {
        var c = Config(130, 4, LoraInit.InitB_Gaussian, lr: 50.0);
        var byKernel = ToyLora.Train(c, 2, null, torch.CPU, rowBlocks: null, kernel: true);
        var byTorch = ToyLora.Train(c, 2, null, torch.CPU, rowBlocks: null, kernel: false);
        Assert.Equal(Data.Results.RunStatus.Diverged, byTorch.Status);
        Assert.Equal(byTorch.Status, byKernel.Status);
        Assert.Equal(byTorch.FinalMetrics["steps"], byKernel.FinalMetrics["steps"]);
    }
}
