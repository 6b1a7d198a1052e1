using LoraLab.Torch.Native;

namespace LoraLab.Torch;

// Functions of several tensors: joins, selection, products.
public static partial class torch
{
    private static unsafe Tensor Join(delegate*<IntPtr*, int, long, IntPtr> op, IReadOnlyList<Tensor> tensors, long dim, string name)
    {
        if (tensors.Count == 0) throw new ArgumentException($"{name} needs at least one tensor");
        IntPtr* handles = stackalloc IntPtr[tensors.Count];
        for (int i = 0; i < tensors.Count; i++) handles[i] = tensors[i].Handle;
        return Checked.Tensor(op(handles, tensors.Count, dim),
                              $"{name} of shapes {string.Join(", ", tensors.Select(t => t.ShapeText()))} along {dim}");
    }

    public static unsafe Tensor cat(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(&NativeMethods.lt_cat, tensors, dim, "cat");
    public static unsafe Tensor stack(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(&NativeMethods.lt_stack, tensors, dim, "stack");

    /// <summary>Elementwise a where condition holds, else b.</summary>
    public static Tensor where(Tensor condition, Tensor a, Tensor b) =>
        Checked.Tensor(NativeMethods.lt_where(condition.Handle, a.Handle, b.Handle),
                       $"where of shapes {condition.ShapeText()}, {a.ShapeText()}, {b.ShapeText()}");

    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);
    public static Tensor bmm(Tensor a, Tensor b) => a.bmm(b);
    public static Tensor outer(Tensor a, Tensor b) => a.outer(b);
    public static Tensor tril(Tensor x, long diagonal = 0) => x.tril(diagonal);
    public static Tensor triu(Tensor x, long diagonal = 0) => x.triu(diagonal);
    public static Tensor exp(Tensor x) => x.exp();
    public static Tensor log(Tensor x) => x.log();
    public static Tensor sqrt(Tensor x) => x.sqrt();
    public static Tensor abs(Tensor x) => x.abs();
    public static Tensor tanh(Tensor x) => x.tanh();
    public static Tensor sigmoid(Tensor x) => x.sigmoid();
    public static Tensor maximum(Tensor a, Tensor b) => a.maximum(b);
    public static Tensor minimum(Tensor a, Tensor b) => a.minimum(b);
    public static Tensor clamp(Tensor x, double? min = null, double? max = null) => x.clamp(min, max);
    public static bool allclose(Tensor a, Tensor b, double rtol = 1e-5, double atol = 1e-8) => a.allclose(b, rtol, atol);
}
