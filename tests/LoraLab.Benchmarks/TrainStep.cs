// One training step of the training benchmark (TrainBenchmark.cs): zero_grad, forward, loss, backward, AdamW, eagerly.
//
// With the old binding (LoraLab.Torch) a step could also be captured as a CUDA graph and replayed. TorchSharp 0.107 has no
// CUDA graph API (nothing in torch.cuda beyond is_available, device_count, manual_seed and synchronize), so every step
// runs eagerly: on a GPU the launch overhead of each operation is part of what the benchmark measures.
using LoraLab.Models;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;

internal sealed class TrainStep(LlamaForCausalLM model, Optimizer optimizer, Tensor ids) : IDisposable
{
    /// <summary>
    /// The loss on bf16 logits is computed from a float32 copy of them (F.cross_entropy's path), not with LoraLab's
    /// CrossEntropyFp32, which LlamaForCausalLM.Loss uses for bf16 logits: on TorchSharp 0.107 its backward returns two
    /// gradients for the four inputs of apply, and TorchSharp then throws from inside the autograd engine, which aborts
    /// the process ("Function CrossEntropyFp32 returned an incorrect number of gradients (expected 4), got 2"). The
    /// PyTorch side also takes the float32 route (full: .float(); lora: autocast runs cross_entropy in float32). Set this
    /// to false once lib/LoraLab/Modules/CrossEntropyFp32.cs returns one entry per input.
    /// </summary>
    public static readonly bool Float32LogitsForLoss = true;

    private Tensor? loss;

    public void Run()
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        var logits = model.call(ids);
        if (Float32LogitsForLoss && logits.dtype != ScalarType.Float32) logits = logits.to(ScalarType.Float32);
        var l = LlamaForCausalLM.Loss(logits, ids);
        l.backward();
        optimizer.step();
        loss?.Dispose();
        loss = l.detach().DetachFromDisposeScope();
    }

    public double LastLoss() => loss?.ToDouble() ?? double.NaN;

    public void Dispose() => loss?.Dispose();
}
