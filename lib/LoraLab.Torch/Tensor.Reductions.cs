using LoraLab.Torch.Native;

namespace LoraLab.Torch;

// Reductions: sums, means, extrema, variance, norms, sorting.
public sealed partial class Tensor
{
    private unsafe Tensor Reduce(ReduceOp op, long[]? dims, bool keepdim)
    {
        dims ??= Array.Empty<long>();
        fixed (long* d = dims)
            return Checked.Tensor(NativeMethods.lt_reduce((int)op, Handle, d, dims.Length, keepdim ? 1 : 0),
                                  $"{op.ToString().ToLowerInvariant()} of shape {ShapeText()}");
    }

    /// <summary>The sum of all elements.</summary>
    public Tensor sum() => Reduce(ReduceOp.Sum, null, false);
    public Tensor sum(long dim, bool keepdim = false) => Reduce(ReduceOp.Sum, new[] { dim }, keepdim);
    public Tensor sum(long[] dims, bool keepdim = false) => Reduce(ReduceOp.Sum, dims, keepdim);

    public Tensor mean() => Reduce(ReduceOp.Mean, null, false);
    public Tensor mean(long dim, bool keepdim = false) => Reduce(ReduceOp.Mean, new[] { dim }, keepdim);
    public Tensor mean(long[] dims, bool keepdim = false) => Reduce(ReduceOp.Mean, dims, keepdim);

    public Tensor prod() => Reduce(ReduceOp.Prod, null, false);
    public Tensor prod(long dim, bool keepdim = false) => Reduce(ReduceOp.Prod, new[] { dim }, keepdim);

    public Tensor logsumexp(long dim, bool keepdim = false) => Reduce(ReduceOp.LogSumExp, new[] { dim }, keepdim);

    public Tensor all() => Reduce(ReduceOp.All, null, false);
    public Tensor any() => Reduce(ReduceOp.Any, null, false);

    /// <summary>The largest element.</summary>
    public Tensor max() => Reduce(ReduceOp.Amax, null, false);
    public Tensor min() => Reduce(ReduceOp.Amin, null, false);
    public Tensor amax(long dim, bool keepdim = false) => Reduce(ReduceOp.Amax, new[] { dim }, keepdim);
    public Tensor amin(long dim, bool keepdim = false) => Reduce(ReduceOp.Amin, new[] { dim }, keepdim);

    /// <summary>The largest values along dim, with their positions (PyTorch's max(dim)).</summary>
    public (Tensor values, Tensor indices) max(long dim, bool keepdim = false) => Extremum(dim, keepdim, minimum: false);
    public (Tensor values, Tensor indices) min(long dim, bool keepdim = false) => Extremum(dim, keepdim, minimum: true);

    private (Tensor, Tensor) Extremum(long dim, bool keepdim, bool minimum)
    {
        Checked.Status(NativeMethods.lt_max_dim(Handle, dim, keepdim ? 1 : 0, minimum ? 1 : 0, out IntPtr v, out IntPtr i),
                       $"{(minimum ? "min" : "max")}(dim={dim}) of shape {ShapeText()}");
        return (new Tensor(v), new Tensor(i));
    }

    /// <summary>The position of the largest element: over the flattened tensor, or along dim.</summary>
    public Tensor argmax(long? dim = null, bool keepdim = false) =>
        Checked.Tensor(NativeMethods.lt_argmax(Handle, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0, 0), "argmax");
    public Tensor argmin(long? dim = null, bool keepdim = false) =>
        Checked.Tensor(NativeMethods.lt_argmax(Handle, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0, 1), "argmin");

    /// <summary>Variance, with Bessel's correction by default (correction = 1), over all elements or dims.</summary>
    public unsafe Tensor var(long[]? dims = null, long correction = 1, bool keepdim = false)
    {
        dims ??= Array.Empty<long>();
        fixed (long* d = dims)
            return Checked.Tensor(NativeMethods.lt_var(Handle, d, dims.Length, correction, keepdim ? 1 : 0, 0), "var");
    }
    public Tensor var(long dim, long correction = 1, bool keepdim = false) => var(new[] { dim }, correction, keepdim);

    public unsafe Tensor std(long[]? dims = null, long correction = 1, bool keepdim = false)
    {
        dims ??= Array.Empty<long>();
        fixed (long* d = dims)
            return Checked.Tensor(NativeMethods.lt_var(Handle, d, dims.Length, correction, keepdim ? 1 : 0, 1), "std");
    }

    /// <summary>The vector p-norm (2 by default) over all elements or the given dims.</summary>
    public unsafe Tensor norm(double p = 2, long[]? dims = null, bool keepdim = false)
    {
        dims ??= Array.Empty<long>();
        fixed (long* d = dims)
            return Checked.Tensor(NativeMethods.lt_norm(Handle, p, d, dims.Length, keepdim ? 1 : 0), "norm");
    }
    public Tensor norm(double p, long dim, bool keepdim = false) => norm(p, new[] { dim }, keepdim);

    public Tensor cumsum(long dim) => Checked.Tensor(NativeMethods.lt_cumsum(Handle, dim), "cumsum");

    public (Tensor values, Tensor indices) sort(long dim = -1, bool descending = false)
    {
        Checked.Status(NativeMethods.lt_sort(Handle, dim, descending ? 1 : 0, out IntPtr v, out IntPtr i), "sort");
        return (new Tensor(v), new Tensor(i));
    }

    public (Tensor values, Tensor indices) topk(long k, long dim = -1, bool largest = true)
    {
        Checked.Status(NativeMethods.lt_topk(Handle, k, dim, largest ? 1 : 0, out IntPtr v, out IntPtr i), $"topk(k={k}) of shape {ShapeText()}");
        return (new Tensor(v), new Tensor(i));
    }
}
