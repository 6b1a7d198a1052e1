using LoraLab.Torch.Native;

namespace LoraLab.Torch;

// Raw little-endian bytes to and from tensors of any element type (bfloat16 included), for
// file formats such as safetensors that store tensors as plain byte ranges.
public static partial class torch
{
    /// <summary>A new CPU tensor holding a copy of `bytes`, read as elements of `dtype` in the given shape.</summary>
    public static unsafe Tensor frombuffer(ReadOnlySpan<byte> bytes, long[] shape, ScalarType dtype)
    {
        long count = 1;
        foreach (long d in shape) count *= d;
        if (count * dtype.ElementSize() != bytes.Length)
            throw new ArgumentException($"{bytes.Length} bytes cannot fill a {dtype} tensor of shape {Tensor.ShapeText(shape)}");
        byte dummy = 0;
        fixed (byte* p = bytes)
        fixed (long* s = shape)
            return Checked.Tensor(NativeMethods.lt_from_data(bytes.Length == 0 ? &dummy : p, s, shape.Length, (int)dtype), "frombuffer");
    }
}

public sealed partial class Tensor
{
    /// <summary>The elements as raw bytes in row-major order (native little-endian), whatever the dtype or device.</summary>
    public unsafe byte[] ToBytes()
    {
        long n = numel();
        var bytes = new byte[n * dtype.ElementSize()];
        byte dummy = 0;
        fixed (byte* p = bytes)
            Checked.Status(NativeMethods.lt_copy_to(Handle, bytes.Length == 0 ? &dummy : p, n), "ToBytes");
        return bytes;
    }
}
