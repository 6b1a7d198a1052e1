// One training step of the benchmark, run eagerly or replayed from a CUDA graph.
//
// A whole step (forward, loss, backward, AdamW) can be captured when nothing in it needs the host:
// the fused AdamW reads its step counts from device tensors, so each replay advances them; the
// loop and foreach AdamW compute bias corrections on the host, which a replay would freeze at the
// captured step, so those steps stay eager. The gradients are unset when the capture starts, so the
// captured backward allocates them in the graph's memory pool and every replay overwrites them
// (zero_grad must not run between replays). The batch is a static tensor: copy the next batch into
// it before Run().
using LoraLab.Models;
using LoraLab.Optim;
using LoraLab.Torch;

internal sealed class TrainStep : IDisposable
{
    private readonly LlamaForCausalLM model;
    private readonly Optimizer optimizer;
    private readonly Tensor ids;
    private torch.cuda.CUDAGraph? graph;
    private Tensor? loss;

    public TrainStep(LlamaForCausalLM model, Optimizer optimizer, Tensor ids) => (this.model, this.optimizer, this.ids) = (model, optimizer, ids);

    public bool graphed => graph is not null;

    public void Run()
    {
        if (graph is null) Eager();
        else graph.Replay();
    }

    public void Eager()
    {
        optimizer.zero_grad();
        Forward();
    }

    // The step without zero_grad: what the graph records.
    private void Forward()
    {
        using var scope = torch.NewDisposeScope();
        var l = LlamaForCausalLM.Loss(model.forward(ids), ids);
        l.backward();
        optimizer.step();
        loss?.Dispose();
        loss = l.detach().DetachFromDisposeScope();
    }

    /// <summary>Captures the step as a CUDA graph where that is sound; otherwise says why not and stays eager.</summary>
    public bool TryCapture(out string why)
    {
        if (!torch.cuda.graphs_supported()) { why = "this shim has no CUDA graphs or there is no GPU"; return false; }
        if (optimizer.LastImpl != OptimizerImpl.Fused)
        {
            why = $"the optimizer ran its {optimizer.LastImpl} kernel, whose bias corrections come from the host (only the fused AdamW is capturable)";
            return false;
        }
        var g = new torch.cuda.CUDAGraph();
        try
        {
            g.Warmup(() => { for (int i = 0; i < 3; i++) Eager(); });   // PyTorch's recipe: warm up on the capture stream
            optimizer.zero_grad();
            g.Capture(Forward);
            graph = g;
            why = "";
            return true;
        }
        catch (TorchException e)
        {
            g.Dispose();
            optimizer.zero_grad();
            why = $"capture failed: {e.Message.Split('\n')[0]}";
            return false;
        }
    }

    public double LastLoss() => loss?.ToDouble() ?? double.NaN;

    public void Dispose()
    {
        graph?.Dispose();
        loss?.Dispose();
    }
}
