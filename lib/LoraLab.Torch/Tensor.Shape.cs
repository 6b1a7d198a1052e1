using LoraLab.Torch.Native;

namespace LoraLab.Torch;

// Views, reshapes, joins and indexing.
public sealed partial class Tensor
{
    private unsafe Tensor WithShape(delegate*<IntPtr, long*, int, IntPtr> op, long[] shape, string name)
    {
        fixed (long* s = shape)
            return Checked.Tensor(op(Handle, s, shape.Length), $"{name} from {ShapeText()} to {ShapeText(shape)}");
    }

    public unsafe Tensor view(params long[] shape) => WithShape(&NativeMethods.lt_view, shape, "view");
    public unsafe Tensor reshape(params long[] shape) => WithShape(&NativeMethods.lt_reshape, shape, "reshape");
    public unsafe Tensor expand(params long[] shape) => WithShape(&NativeMethods.lt_expand, shape, "expand");
    public unsafe Tensor repeat(params long[] repeats) => WithShape(&NativeMethods.lt_repeat, repeats, "repeat");
    public unsafe Tensor permute(params long[] order) => WithShape(&NativeMethods.lt_permute, order, "permute");

    public Tensor transpose(long dim0, long dim1) => Checked.Tensor(NativeMethods.lt_transpose(Handle, dim0, dim1), $"transpose({dim0}, {dim1}) of shape {ShapeText()}");
    /// <summary>The transpose of a matrix (PyTorch's .T / .t()).</summary>
    public Tensor t() => transpose(0, 1);
    public Tensor T => transpose(0, 1);
    /// <summary>The transpose of the last two dimensions (PyTorch's .mT).</summary>
    public Tensor mT => transpose(-2, -1);
    public Tensor flatten(long start_dim = 0, long end_dim = -1) => Checked.Tensor(NativeMethods.lt_flatten(Handle, start_dim, end_dim), "flatten");
    public Tensor unsqueeze(long dim) => Checked.Tensor(NativeMethods.lt_unsqueeze(Handle, dim), $"unsqueeze({dim}) of shape {ShapeText()}");
    public Tensor squeeze() => Checked.Tensor(NativeMethods.lt_squeeze(Handle, 0, 1), "squeeze");
    public Tensor squeeze(long dim) => Checked.Tensor(NativeMethods.lt_squeeze(Handle, dim, 0), $"squeeze({dim}) of shape {ShapeText()}");
    public Tensor narrow(long dim, long start, long length) => Checked.Tensor(NativeMethods.lt_narrow(Handle, dim, start, length), $"narrow(dim={dim}, start={start}, length={length}) of shape {ShapeText()}");
    public Tensor slice(long dim, long start, long end, long step = 1) => Checked.Tensor(NativeMethods.lt_slice(Handle, dim, start, end, step), $"slice of shape {ShapeText()}");
    public Tensor select(long dim, long index) => Checked.Tensor(NativeMethods.lt_select(Handle, dim, index), $"select(dim={dim}, index={index}) of shape {ShapeText()}");
    public Tensor index_select(long dim, Tensor index) => Checked.Tensor(NativeMethods.lt_index_select(Handle, dim, index.Handle), $"index_select(dim={dim}) of shape {ShapeText()}");
    public Tensor gather(long dim, Tensor index) => Checked.Tensor(NativeMethods.lt_gather(Handle, dim, index.Handle), $"gather(dim={dim}) of shape {ShapeText()} with index {index.ShapeText()}");
    public Tensor scatter_add(long dim, Tensor index, Tensor src) => Checked.Tensor(NativeMethods.lt_scatter_add(Handle, dim, index.Handle, src.Handle), "scatter_add");
    public Tensor tril(long diagonal = 0) => Checked.Tensor(NativeMethods.lt_tril(Handle, diagonal), "tril");
    public Tensor triu(long diagonal = 0) => Checked.Tensor(NativeMethods.lt_triu(Handle, diagonal), "triu");
    public Tensor diag(long diagonal = 0) => Checked.Tensor(NativeMethods.lt_diag(Handle, diagonal), "diag");

    /// <summary>Splits into pieces of `size` along dim (the last may be shorter).</summary>
    public Tensor[] split(long size, long dim = 0)
    {
        long total = this.size((int)dim);
        var pieces = new List<Tensor>();
        for (long start = 0; start < total; start += size) pieces.Add(narrow(dim, start, Math.Min(size, total - start)));
        return pieces.ToArray();
    }

    /// <summary>Splits into `chunks` nearly equal pieces along dim.</summary>
    public Tensor[] chunk(long chunks, long dim = 0) => split((size((int)dim) + chunks - 1) / chunks, dim);

    /// <summary>Python-style indexing: x[0], x[.., 1..3], x[TensorIndex.Ellipsis, TensorIndex.None], x[mask].</summary>
    public Tensor this[params TensorIndex[] indices]
    {
        get => Index(indices);
        set
        {
            if (indices.Length == 1 && indices[0].kind == TensorIndex.Kind.Tensor)
            {
                Checked.Status(NativeMethods.lt_index_put_(Handle, indices[0].tensor!.Handle, value.Handle), "index assignment");
                return;
            }
            using var view = Index(indices);
            using (torch.no_grad()) view.copy_(value);
        }
    }

    private Tensor Index(TensorIndex[] indices)
    {
        if (indices.Length == 1 && indices[0].kind == TensorIndex.Kind.Tensor)
            return Checked.Tensor(NativeMethods.lt_index(Handle, indices[0].tensor!.Handle), $"indexing of shape {ShapeText()} by a tensor of shape {indices[0].tensor!.ShapeText()}");

        int consumed = indices.Count(i => i.kind is TensorIndex.Kind.Single or TensorIndex.Kind.Slice or TensorIndex.Kind.Tensor);
        int rank = dim();
        if (consumed > rank) throw new ArgumentException($"too many indices ({consumed}) for a tensor of shape {ShapeText()}");

        Tensor current = alias();
        long d = 0;
        foreach (var index in indices)
        {
            Tensor next;
            switch (index.kind)
            {
                case TensorIndex.Kind.Single: next = current.select(d, index.start); break;
                case TensorIndex.Kind.Slice: next = current.slice(d, index.start, index.end, index.step); d++; break;
                case TensorIndex.Kind.None: next = current.unsqueeze(d); d++; break;
                case TensorIndex.Kind.Ellipsis: d += rank - consumed; continue;
                default:
                    if (index.tensor!.dim() != 1) throw new ArgumentException("a tensor index mixed with other indices must be 1-D positions");
                    next = current.index_select(d, index.tensor!); d++; break;
            }
            current.Dispose();
            current = next;
        }
        return current;
    }
}
