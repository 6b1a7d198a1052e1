using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Lora;

/// <summary>
/// One LoRA layer's stream of inverted-dropout masks: 1/(1 − p) where a uniform draw is at least p, 0 elsewhere, the
/// draws from the layer's own seed, so that a run's masks do not depend on what else in the process draws numbers.
/// The masks are the ones <c>torch.rand(shape, generator: new Generator(seed)).ge(p)</c> gives, draw after draw. On the
/// CPU they are computed here: libtorch draws a float32 uniform one element at a time, through a call per element,
/// then compares, converts and scales in three more passes (on notebook 03's tiny-base math runs dropout was about a
/// sixth of a LoRA step, most of it these draws); this class runs the same Mersenne Twister (mt19937, libtorch's CPU
/// generator) and takes the same 24 bits of each 32-bit draw, writing the mask in one pass: bitwise the same masks
/// (tested against libtorch), about twice as fast (<c>./lab bench dropout</c>). On another device libtorch draws them
/// from a generator there.
/// </summary>
internal sealed class DropoutMasks
{
    private readonly float threshold;        // p as float32: libtorch compares the float32 draws with it in float32
    private readonly MersenneTwister? cpu;
    private readonly Generator? libtorchGenerator;   // where libtorch draws (another device, or the benchmark's reference)

    public DropoutMasks(double p, ulong seed, Device on)
    {
        if (p <= 0 || p >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "a dropout probability in (0, 1)");
        this.p = p;
        threshold = (float)p;
        if (on.type == DeviceType.CPU && !LibtorchDrawsOnCpu) cpu = new MersenneTwister(seed);
        else libtorchGenerator = new Generator(seed, on);
    }

    /// <summary>For ./lab bench dropout, the reference: streams made while it is true draw on the CPU with libtorch too
    /// (the same masks, the slower way).</summary>
    internal static bool LibtorchDrawsOnCpu { get; set; }

    /// <summary>The probability of dropping an element.</summary>
    public double p { get; }

    /// <summary>The next mask of <paramref name="shape"/>, in <paramref name="dtype"/> on <paramref name="on"/>.</summary>
    public Tensor Next(long[] shape, ScalarType dtype, Device on)
    {
        using var noGrad = torch.no_grad();
        if (cpu is null)
            return torch.rand(shape, ScalarType.Float32, libtorchGenerator!.device, generator: libtorchGenerator).ge(p).to(dtype, on).mul_(1 / (1 - p));
        // float32 gets 1/(1 − p) written at once (libtorch's mul_ by the scalar makes the same float of it); other dtypes
        // get libtorch's conversion of 1 and its product in that dtype, as before.
        bool scaled = dtype == ScalarType.Float32;
        var keep = torch.empty(shape, ScalarType.Float32);
        Write(MemoryMarshal.Cast<byte, float>(keep.bytes), scaled ? (float)(1 / (1 - p)) : 1f);
        return scaled ? keep.to(on) : keep.to(dtype, on).mul_(1 / (1 - p));
    }

    // The mask's values, a block of draws at a time: libtorch's float32 uniform in [0, 1) is the low 24 bits of a 32-bit
    // draw (the float's significand) times 2^-24, kept where it is at least p (compared in float32, as libtorch does).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // a run's hot loop: compiled optimized at once
    private void Write(Span<float> mask, float kept)
    {
        Span<uint> draws = stackalloc uint[1024];
        var (low24, unit, atLeast, value) = (new Vector<uint>(0xFFFFFF), new Vector<float>(1f / (1 << 24)), new Vector<float>(threshold), new Vector<float>(kept));
        for (int start = 0; start < mask.Length; start += draws.Length)
        {
            var block = mask.Slice(start, Math.Min(draws.Length, mask.Length - start));
            var words = draws[..block.Length];
            cpu!.Fill(words);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var wordVectors = MemoryMarshal.Cast<uint, Vector<uint>>(words);
                var maskVectors = MemoryMarshal.Cast<float, Vector<float>>(block);
                for (int v = 0; v < wordVectors.Length; v++)
                {
                    var uniform = Vector.ConvertToSingle(Vector.AsVectorInt32(wordVectors[v] & low24)) * unit;
                    maskVectors[v] = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(uniform, atLeast), value, Vector<float>.Zero);
                }
                i = wordVectors.Length * Vector<uint>.Count;
            }
            for (; i < block.Length; i++) block[i] = (words[i] & 0xFFFFFF) * (1f / (1 << 24)) >= threshold ? kept : 0f;
        }
    }
}
