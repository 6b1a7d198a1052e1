using LoraLab.Torch.Native;

namespace LoraLab.Torch;

// Creating tensors: constants, ranges, random numbers, and copies of .NET data.
public static partial class torch
{
    private static unsafe Tensor Create(delegate*<long*, int, int, int, int, int, IntPtr> factory, long[] shape, ScalarType? dtype, Device? device, bool requires_grad, string name)
    {
        var d = device ?? Device.CPU;
        fixed (long* s = shape)
            return Checked.Tensor(factory(s, shape.Length, (int)(dtype ?? float32), (int)d.type, d.index, requires_grad ? 1 : 0),
                                  $"{name}({string.Join(", ", shape)})");
    }

    public static unsafe Tensor empty(long[] shape, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Create(&NativeMethods.lt_empty, shape, dtype, device, requires_grad, "empty");
    public static Tensor empty(params long[] shape) => empty(shape, null);

    public static unsafe Tensor full(long[] shape, double value, ScalarType? dtype = null, Device? device = null, bool requires_grad = false)
    {
        var d = device ?? Device.CPU;
        fixed (long* s = shape)
            return Checked.Tensor(NativeMethods.lt_full(s, shape.Length, value, (int)(dtype ?? float32), (int)d.type, d.index, requires_grad ? 1 : 0), "full");
    }

    public static Tensor zeros(long[] shape, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => full(shape, 0, dtype, device, requires_grad);
    public static Tensor zeros(params long[] shape) => zeros(shape, null);
    public static Tensor ones(long[] shape, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => full(shape, 1, dtype, device, requires_grad);
    public static Tensor ones(params long[] shape) => ones(shape, null);

    public static Tensor zeros_like(Tensor t, ScalarType? dtype = null) => zeros(t.shape, dtype ?? t.dtype, t.device);
    public static Tensor ones_like(Tensor t, ScalarType? dtype = null) => ones(t.shape, dtype ?? t.dtype, t.device);
    public static Tensor full_like(Tensor t, double value) => full(t.shape, value, t.dtype, t.device);
    public static Tensor randn_like(Tensor t) => randn(t.shape, t.dtype, t.device);

    /// <summary>Samples of the standard normal distribution.</summary>
    public static unsafe Tensor randn(long[] shape, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Create(&NativeMethods.lt_randn, shape, dtype, device, requires_grad, "randn");
    public static Tensor randn(params long[] shape) => randn(shape, null);

    /// <summary>Samples of the uniform distribution on [0, 1).</summary>
    public static unsafe Tensor rand(long[] shape, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Create(&NativeMethods.lt_rand, shape, dtype, device, requires_grad, "rand");
    public static Tensor rand(params long[] shape) => rand(shape, null);

    /// <summary>Integers drawn uniformly from [low, high), int64 by default.</summary>
    public static unsafe Tensor randint(long low, long high, long[] shape, ScalarType? dtype = null, Device? device = null)
    {
        var d = device ?? Device.CPU;
        fixed (long* s = shape)
            return Checked.Tensor(NativeMethods.lt_randint(low, high, s, shape.Length, (int)(dtype ?? int64), (int)d.type, d.index), "randint");
    }
    public static Tensor randint(long high, long[] shape, ScalarType? dtype = null, Device? device = null) => randint(0, high, shape, dtype, device);

    public static Tensor randperm(long n, Device? device = null) =>
        Checked.Tensor(NativeMethods.lt_randperm(n, (int)int64, (int)(device ?? Device.CPU).type, (device ?? Device.CPU).index), "randperm");

    /// <summary>start, start+step, ... below end; int64 when every argument is whole and no dtype is given.</summary>
    public static Tensor arange(double start, double end, double step = 1, ScalarType? dtype = null, Device? device = null)
    {
        bool whole = start == Math.Floor(start) && end == Math.Floor(end) && step == Math.Floor(step);
        var d = device ?? Device.CPU;
        return Checked.Tensor(NativeMethods.lt_arange(start, end, step, (int)(dtype ?? (whole ? int64 : float32)), (int)d.type, d.index), "arange");
    }
    public static Tensor arange(double end, ScalarType? dtype = null, Device? device = null) => arange(0, end, 1, dtype, device);

    public static Tensor linspace(double start, double end, long steps, ScalarType? dtype = null, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Checked.Tensor(NativeMethods.lt_linspace(start, end, steps, (int)(dtype ?? float32), (int)d.type, d.index), "linspace");
    }

    public static Tensor eye(long n, long? m = null, ScalarType? dtype = null, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Checked.Tensor(NativeMethods.lt_eye(n, m ?? n, (int)(dtype ?? float32), (int)d.type, d.index), "eye");
    }

    /// <summary>A tensor holding a copy of `data`, with the given shape (1-D when omitted).</summary>
    public static unsafe Tensor tensor<T>(ReadOnlySpan<T> data, long[]? shape = null, Device? device = null, bool requires_grad = false) where T : unmanaged
    {
        shape ??= new long[] { data.Length };
        long count = 1;
        foreach (long d in shape) count *= d;
        if (count != data.Length)
            throw new ArgumentException($"{data.Length} values cannot fill a tensor of shape {Tensor.ShapeText(shape)} ({count} elements)");
        Tensor cpu;
        fixed (T* p = data)
        fixed (long* s = shape)
            cpu = Checked.Tensor(NativeMethods.lt_from_data(p, s, shape.Length, (int)ScalarTypeExtensions.Of<T>()), "tensor");
        if (device is { type: DeviceType.CUDA } target)
        {
            using (cpu) return target_to(cpu, target, requires_grad);
        }
        if (requires_grad) cpu.requires_grad = true;
        return cpu;

        static Tensor target_to(Tensor t, Device d, bool grad)
        {
            var moved = t.to(d);
            if (grad) moved.requires_grad = true;
            return moved;
        }
    }

    public static Tensor tensor<T>(T[] data, long[]? shape = null, Device? device = null, bool requires_grad = false) where T : unmanaged =>
        tensor((ReadOnlySpan<T>)data, shape, device, requires_grad);

    public static Tensor tensor<T>(T[,] data, Device? device = null, bool requires_grad = false) where T : unmanaged
    {
        var flat = new T[data.Length];
        int columns = data.GetLength(1), i = 0;
        for (int r = 0; r < data.GetLength(0); r++)
            for (int c = 0; c < columns; c++) flat[i++] = data[r, c];
        return tensor(flat, new long[] { data.GetLength(0), columns }, device, requires_grad);
    }

    /// <summary>A one-element (0-D) tensor.</summary>
    public static Tensor scalar_tensor(double value, ScalarType? dtype = null, Device? device = null) =>
        full(Array.Empty<long>(), value, dtype, device);
}
