using LoraLab.Torch.Native;

namespace LoraLab.Torch;

// Moving values between tensors and .NET, and between devices and element types.
public sealed partial class Tensor
{
    /// <summary>The value of a one-element tensor.</summary>
    public T item<T>() where T : unmanaged
    {
        var type = ScalarTypeExtensions.Of<T>();
        if (type is ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Byte or ScalarType.Int8)
        {
            Checked.Status(NativeMethods.lt_item_long(Handle, out long l), "item");
            return (T)Convert.ChangeType(l, typeof(T));
        }
        Checked.Status(NativeMethods.lt_item(Handle, out double d), "item");
        if (typeof(T) == typeof(bool)) return (T)(object)(d != 0);
        if (typeof(T) == typeof(Half)) return (T)(object)(Half)d;
        return (T)Convert.ChangeType(d, typeof(T));
    }

    public float ToSingle() => item<float>();
    public double ToDouble() => item<double>();
    public long ToInt64() => item<long>();

    /// <summary>Copies every element (in row-major order) into a new array; T must match the dtype.</summary>
    public T[] data<T>() where T : unmanaged
    {
        var result = new T[numel()];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies every element (in row-major order) into destination; T must match the dtype.</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        var wanted = ScalarTypeExtensions.Of<T>();
        if (wanted != dtype)
            throw new ArgumentException($"cannot read a {dtype} tensor as {typeof(T).Name}; convert it first with .to(ScalarType.{wanted})");
        fixed (T* p = destination)
            Checked.Status(NativeMethods.lt_copy_to(Handle, p, destination.Length), "CopyTo");
    }

    /// <summary>The address of the first element of a contiguous CPU tensor (valid while the tensor lives).</summary>
    public IntPtr data_ptr()
    {
        IntPtr p = NativeMethods.lt_data_ptr(Handle);
        return p != IntPtr.Zero ? p : throw Checked.Error();
    }

    public Tensor to(Device device, ScalarType? dtype = null, bool non_blocking = false, bool copy = false) =>
        Checked.Tensor(NativeMethods.lt_to(Handle, (int)(dtype ?? this.dtype), (int)device.type, device.index, non_blocking ? 1 : 0, copy ? 1 : 0), "to");

    public Tensor to(ScalarType dtype) => to(device, dtype);

    public Tensor to(string device) => to(Device.Parse(device));

    public Tensor cpu() => to(Device.CPU);

    public Tensor cuda(int index = 0) => to(new Device(DeviceType.CUDA, index));

    public Tensor clone() => Checked.Tensor(NativeMethods.lt_clone(Handle));

    public Tensor contiguous() => Checked.Tensor(NativeMethods.lt_contiguous(Handle));

    /// <summary>A second handle to the same tensor (same storage, same autograd identity), with its own lifetime.</summary>
    public Tensor alias() => Checked.Tensor(NativeMethods.lt_alias(Handle));

    public bool allclose(Tensor other, double rtol = 1e-5, double atol = 1e-8)
    {
        int r = NativeMethods.lt_allclose(Handle, other.Handle, rtol, atol);
        return r >= 0 ? r == 1 : throw Checked.Error($"allclose({ShapeText()}, {other.ShapeText()})");
    }
}
