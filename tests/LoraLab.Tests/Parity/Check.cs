using Xunit.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests.Parity;

/// <summary>Comparisons of LoraLab's tensors with PyTorch's, each logged with the error it found.</summary>
internal static class Check
{
    /// <summary>max |actual − expected| / max |expected|, in float64: the error relative to the tensor's scale (so an
    /// entry near zero is not held to a relative tolerance its rounding cannot meet). 0 when both are zero.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = torch.NewDisposeScope();
        var a = actual.detach().to(ScalarType.Float64);
        var e = expected.detach().to(ScalarType.Float64);
        double diff = (a - e).abs().max().ToDouble(), scale = e.abs().max().ToDouble();
        return diff == 0 ? 0 : diff / scale;
    }

    /// <summary>Same shape, and <see cref="RelativeError"/> at most <paramref name="rtol"/>.</summary>
    public static void Close(ITestOutputHelper log, string what, Tensor actual, Tensor expected, double rtol)
    {
        Assert.True(actual.shape.SequenceEqual(expected.shape),
            $"{what}: LoraLab's shape [{string.Join(", ", actual.shape)}], PyTorch's [{string.Join(", ", expected.shape)}]");
        double error = RelativeError(actual, expected);
        log.WriteLine($"{what}: relative error {error:E2} (tolerance {rtol:E0})");
        Assert.True(error <= rtol, $"{what}: LoraLab differs from PyTorch by {error:E3} relative to max |PyTorch| = " +
                                   $"{expected.abs().max().ToDouble():G6} (max |diff| {(actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().ToDouble():E3}), tolerance {rtol:E1}");
    }

    /// <summary>Every element of <paramref name="actual"/> within <paramref name="ulps"/> units in the last place of bfloat16
    /// (2^(⌊log2 |e|⌋ − 7), 8 significant bits) of <paramref name="expected"/>. Returns the share of elements equal.</summary>
    public static double WithinBf16Ulps(ITestOutputHelper log, string what, Tensor actual, Tensor expected, int ulps)
    {
        Assert.True(actual.shape.SequenceEqual(expected.shape), $"{what}: shapes differ");
        var a = actual.detach().to(ScalarType.Float64).reshape(-1).data<double>().ToArray();
        var e = expected.detach().to(ScalarType.Float64).reshape(-1).data<double>().ToArray();
        int equal = 0, worstAt = -1;
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] == e[i]) { equal++; continue; }
            double ulp = e[i] == 0 ? Math.ScaleB(1.0, -133) : Math.ScaleB(1.0, Math.ILogB(e[i]) - 7);
            double off = Math.Abs(a[i] - e[i]) / ulp;
            if (off > worst) (worst, worstAt) = (off, i);
        }
        log.WriteLine($"{what}: {equal}/{a.Length} elements bitwise equal, worst {worst:G3} bf16 ulp (tolerance {ulps})");
        if (worst > ulps)
            Assert.Fail($"{what}: element {worstAt} is {a[worstAt]:R} in LoraLab, {e[worstAt]:R} in PyTorch: {worst:G3} bf16 ulps apart (tolerance {ulps})");
        return (double)equal / a.Length;
    }
}
