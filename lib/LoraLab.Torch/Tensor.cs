using System.Runtime.InteropServices;
using LoraLab.Torch.Native;

namespace LoraLab.Torch;

/// <summary>
/// A handle to a libtorch tensor. Names follow PyTorch (and TorchSharp): x.matmul(w), x.softmax(-1),
/// x.shape, x.requires_grad. The native memory is freed by Dispose, by the dispose scope that was
/// open when the tensor was made, or, as a last resort, by the finalizer.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private static long liveCount;
    private IntPtr handle;

    internal Tensor(IntPtr handle)
    {
        this.handle = handle;
        Interlocked.Increment(ref liveCount);
        OwningScope = DisposeScope.Current;
        OwningScope?.Add(this);
    }

    ~Tensor() => Free();

    /// <summary>Native tensors alive in this process: created and not yet freed. For leak tests.</summary>
    public static long LiveCount => Interlocked.Read(ref liveCount);

    internal DisposeScope? OwningScope { get; set; }

    public bool IsDisposed => handle == IntPtr.Zero;

    /// <summary>The native handle; throws if the tensor was disposed.</summary>
    internal IntPtr Handle => handle != IntPtr.Zero
        ? handle
        : throw new ObjectDisposedException(nameof(Tensor), "This tensor was disposed (by Dispose or by the end of its dispose scope) and can no longer be used.");

    public void Dispose()
    {
        OwningScope?.Remove(this);
        OwningScope = null;
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        IntPtr h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h == IntPtr.Zero) return;
        NativeMethods.lt_free(h);
        Interlocked.Decrement(ref liveCount);
    }

    /// <summary>Keeps this tensor alive past the current scope: it moves to the next outer scope (or to none).</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var scope = OwningScope;
        if (scope is null) return this;
        scope.Remove(this);
        OwningScope = scope.OuterScope;
        OwningScope?.Add(this);
        return this;
    }

    /// <summary>Takes this tensor out of every dispose scope; only Dispose or the finalizer free it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        OwningScope?.Remove(this);
        OwningScope = null;
        return this;
    }

    // ---- metadata ---------------------------------------------------------------------------

    /// <summary>The sizes of every dimension. libtorch sets no limit on the number of dimensions, so the
    /// array is sized from lt_dim before lt_shape fills it (lt_shape writes every size without a bound).</summary>
    public unsafe long[] shape
    {
        get
        {
            int rank = NativeMethods.lt_dim(Handle);
            var sizes = new long[rank];
            int written;
            fixed (long* buffer = sizes)
            {
                long dummy = 0;
                written = NativeMethods.lt_shape(Handle, rank == 0 ? &dummy : buffer);
            }
            if (written != rank) throw new TorchException($"shape: the tensor reported {rank} dimensions, then {written}");
            return sizes;
        }
    }

    public long size(int dim)
    {
        var s = shape;
        int d = dim < 0 ? dim + s.Length : dim;
        if (d < 0 || d >= s.Length) throw new ArgumentOutOfRangeException(nameof(dim), $"dimension {dim} is out of range for a tensor of shape {ShapeText(s)}");
        return s[d];
    }

    public int dim() => NativeMethods.lt_dim(Handle);

    public int ndim => dim();

    public long numel()
    {
        long n = 1;
        foreach (long d in shape) n *= d;
        return n;
    }

    public ScalarType dtype => (ScalarType)NativeMethods.lt_dtype(Handle);

    public Device device
    {
        get
        {
            int type = NativeMethods.lt_device(Handle, out int index);
            return new Device((DeviceType)type, index);
        }
    }

    public bool is_contiguous() => NativeMethods.lt_is_contiguous(Handle) != 0;

    internal static string ShapeText(long[] shape) => "[" + string.Join(", ", shape) + "]";

    internal string ShapeText() => IsDisposed ? "[disposed]" : ShapeText(shape);

    /// <summary>libtorch's own printout of the values.</summary>
    public override string ToString()
    {
        if (IsDisposed) return "Tensor(disposed)";
        IntPtr text = NativeMethods.lt_to_string(Handle);
        if (text == IntPtr.Zero) throw Checked.Error("ToString");
        try { return $"{Marshal.PtrToStringUTF8(text)}\n[{dtype}, shape {ShapeText()}, {device}]"; }
        finally { NativeMethods.lt_free_string(text); }
    }
}
