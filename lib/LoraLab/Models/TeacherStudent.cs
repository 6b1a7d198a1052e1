using LoraLab.Modules;
using LoraLab.Torch;

namespace LoraLab.Models;

/// <summary>
/// The toy network of Hayou, Ghosh &amp; Yu 2024: f(x) = W_out φ(W φ(W_in x)) with W_in: n×d,
/// W: n×n (the layer LoRA adapts), W_out: 1×n, φ = ReLU, no biases. Modules are named w_in,
/// hidden and w_out, so LoRA targets "hidden". Standard initialization: entries ~ N(0, 1/fan_in).
/// </summary>
public sealed class ToyMlp : Module
{
    public ToyMlp(int d, int n, ScalarType? dtype = null, Device? device = null)
    {
        RegisterModule("w_in", new Linear(d, n, bias: false, dtype, device));
        RegisterModule("hidden", new Linear(n, n, bias: false, dtype, device));
        RegisterModule("w_out", new Linear(n, 1, bias: false, dtype, device));
        using var _ = torch.no_grad();
        Child<Linear>("w_in").weight.normal_(0, 1 / Math.Sqrt(d));
        Child<Linear>("hidden").weight.normal_(0, 1 / Math.Sqrt(n));
        Child<Linear>("w_out").weight.normal_(0, 1 / Math.Sqrt(n));
    }

    public Linear hidden => Child<Linear>("hidden");

    /// <summary>x: [N, d] → [N, 1].</summary>
    public Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = Child<Linear>("w_in").forward(x).relu();
        h = hidden.forward(h).relu();
        return Child<Linear>("w_out").forward(h).MoveToOuterDisposeScope();
    }
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
            delta = (u.matmul(v.T) * (scale / n)).DetachFromDisposeScope();
            teacher.hidden.weight.add_(delta);
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
