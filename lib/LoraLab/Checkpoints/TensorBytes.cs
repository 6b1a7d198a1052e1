using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Checkpoints;

/// <summary>Tensors to and from their raw little-endian bytes, whatever the dtype (bfloat16 included): what file formats
/// such as safetensors store.</summary>
public static class TensorBytes
{
    /// <summary>The elements in row-major order, copied to the CPU first if need be.</summary>
    public static byte[] Of(Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var cpu = tensor.detach().cpu().contiguous();
        return cpu.numel() == 0 ? Array.Empty<byte>() : cpu.bytes.ToArray();
    }

    /// <summary>A new CPU tensor of the given dtype and shape holding a copy of <paramref name="bytes"/>.</summary>
    public static Tensor ToTensor(ReadOnlySpan<byte> bytes, long[] shape, ScalarType dtype)
    {
        long count = shape.Aggregate(1L, (a, d) => a * d);
        if (count * ElementSize(dtype) != bytes.Length)
            throw new ArgumentException($"{bytes.Length} bytes cannot fill a {dtype} tensor of shape [{string.Join(", ", shape)}]");
        var tensor = torch.empty(shape, dtype);
        if (count > 0) bytes.CopyTo(tensor.bytes);
        return tensor;
    }

    /// <summary>Bytes per element of a dtype.</summary>
    public static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new ArgumentException($"no element size known for {dtype}", nameof(dtype)),
    };
}
