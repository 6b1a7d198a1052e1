using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// <summary>
/// The toy network of Hayou, Ghosh &amp; Yu 2024: f(x) = W_out φ(W φ(W_in x)) with W_in: n×d,
/// W: n×n (the layer LoRA adapts), W_out: 1×n, φ = ReLU, no biases. Modules are named w_in,
/// hidden and w_out, so LoRA targets "hidden". Standard initialization: entries ~ N(0, 1/fan_in).
/// </summary>
public sealed class ToyMlp : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> w_in, hidden, w_out;

    public ToyMlp(int d, int n, ScalarType? dtype = null, Device? device = null) : base(nameof(ToyMlp))
    {
        w_in = Layer(d, n, dtype, device);
        hidden = Layer(n, n, dtype, device);
        w_out = Layer(n, 1, dtype, device);
        RegisterComponents();
    }

    /// <summary>A ToyMlp over <paramref name="shared"/>'s weights: the same Parameter objects, not copies, and nothing drawn.
    /// Disposing it disposes the shared weights too; toy runs built on a cached task (FrozenToyTask) dispose only their LoRA
    /// factors.</summary>
    internal ToyMlp(ToyMlp shared) : base(nameof(ToyMlp))
    {
        Linear Same(nn.Module<Tensor, Tensor> layer) => nn.Linear(((Linear)layer).weight!);
        (w_in, hidden, w_out) = (Same(shared.w_in), Same(shared.hidden), Same(shared.w_out));
        RegisterComponents();
    }

    // Entries ~ N(0, 1/fan_in).
    private static Linear Layer(int fanIn, int fanOut, ScalarType? dtype, Device? device)
    {
        var layer = nn.Linear(fanIn, fanOut, hasBias: false, device, dtype);
        using var _ = torch.no_grad();
        layer.weight.normal_(0, 1 / Math.Sqrt(fanIn));
        return layer;
    }

    /// <summary>x: [N, d] → [N, 1].</summary>
    public override Tensor forward(Tensor x) => w_out.call(hidden.call(w_in.call(x).relu()).relu());
}

/// <summary>
/// A finetuning task with a known answer: the student is the "pretrained" ToyMlp; the teacher is the
/// same network with W replaced by W + ΔW, a planted rank-r* change
/// ΔW = scale · U Vᵀ / n with U, V ∈ ℝ^{n×r*} of N(0, 1) entries (so ‖ΔW‖ is comparable to ‖W‖ ~ O(1) at
/// scale ≈ √(n/r*), independently of n). Inputs x ~ N(0, I_d); targets y = teacher(x).
/// Everything is drawn from `seed`, so a task is reproducible.
/// </summary>
public sealed class TeacherStudentTask : IDisposable
{
    public ToyMlp student { get; }
    public ToyMlp teacher { get; }
    public Tensor delta { get; }
    public Tensor x_train { get; }
    public Tensor y_train { get; }
    public Tensor x_test { get; }
    public Tensor y_test { get; }

    public TeacherStudentTask(int d, int n, int rank, double scale, int n_train, int n_test, long seed, ScalarType? dtype = null)
    {
        if (rank <= 0 || rank > n) throw new ArgumentException($"planted rank must be in [1, {n}], got {rank}", nameof(rank));
        torch.manual_seed(seed);
        student = new ToyMlp(d, n, dtype);
        teacher = new ToyMlp(d, n, dtype);
        teacher.load_state_dict(student.state_dict());
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            var u = torch.randn(new long[] { n, rank }, dtype);
            var v = torch.randn(new long[] { n, rank }, dtype);
            delta = (u.mm(v.T) * (scale / n)).DetachFromDisposeScope();
            ((Linear)teacher.hidden).weight.add_(delta);
            x_train = torch.randn(new long[] { n_train, d }, dtype).DetachFromDisposeScope();
            x_test = torch.randn(new long[] { n_test, d }, dtype).DetachFromDisposeScope();
            y_train = teacher.forward(x_train).DetachFromDisposeScope();
            y_test = teacher.forward(x_test).DetachFromDisposeScope();
        }
    }

    public void Dispose()
    {
        student.Dispose();
        teacher.Dispose();
        foreach (var t in new[] { delta, x_train, y_train, x_test, y_test }) t.Dispose();
    }
}
