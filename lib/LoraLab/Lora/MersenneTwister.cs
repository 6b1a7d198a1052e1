using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LoraLab.Lora;

/// <summary>
/// The 32-bit Mersenne Twister mt19937 (Matsumoto and Nishimura 1998), seeded as libtorch seeds its CPU generator: the
/// seed's low 32 bits, then the standard initialization. Its outputs are std::mt19937's, so a stream of
/// <see cref="DropoutMasks"/> draws what a libtorch generator with the same seed would. <see cref="Fill"/> hands out
/// the outputs a block at a time, tempered with vector instructions.
/// </summary>
internal sealed class MersenneTwister
{
    private const int N = 624, M = 397;
    private const uint MatrixA = 0x9908b0df, UpperMask = 0x80000000, LowerMask = 0x7fffffff;
    private readonly uint[] state = new uint[N];
    private int next = N;

    public MersenneTwister(ulong seed)
    {
        state[0] = (uint)seed;
        for (int i = 1; i < N; i++) state[i] = 1812433253u * (state[i - 1] ^ (state[i - 1] >> 30)) + (uint)i;
    }

    /// <summary>The next output: a word of the state, tempered.</summary>
    public uint Next()
    {
        if (next == N) Twist();
        return Temper(state[next++]);
    }

    /// <summary>The next <paramref name="destination"/>.Length outputs, in order: the same as as many calls of Next.</summary>
    public void Fill(Span<uint> destination)
    {
        for (int done = 0; done < destination.Length;)
        {
            if (next == N) Twist();
            int count = Math.Min(N - next, destination.Length - done);
            Temper(state.AsSpan(next, count), destination.Slice(done, count));
            next += count;
            done += count;
        }
    }

    private static uint Temper(uint y)
    {
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        return y ^ (y >> 18);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // a run's hot loop: compiled optimized at once
    private static void Temper(ReadOnlySpan<uint> words, Span<uint> outputs)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var (b, c) = (new Vector<uint>(0x9d2c5680), new Vector<uint>(0xefc60000));
            var wordVectors = MemoryMarshal.Cast<uint, Vector<uint>>(words);
            var outputVectors = MemoryMarshal.Cast<uint, Vector<uint>>(outputs);
            for (int v = 0; v < wordVectors.Length; v++)
            {
                var y = wordVectors[v];
                y ^= Vector.ShiftRightLogical(y, 11);
                y ^= Vector.ShiftLeft(y, 7) & b;
                y ^= Vector.ShiftLeft(y, 15) & c;
                outputVectors[v] = y ^ Vector.ShiftRightLogical(y, 18);
            }
            i = wordVectors.Length * Vector<uint>.Count;
        }
        for (; i < words.Length; i++) outputs[i] = Temper(words[i]);
    }

    // The next 624 words, in place: word i from its own upper bit, the next word's lower 31 bits and the word M ahead,
    // which past the end wraps around to words already renewed (the last word's next is the renewed first). A word's
    // inputs lie at least N − M = 227 words from it, so a vector of consecutive words can be renewed at once: its next
    // words are read before it is stored, and the renewed words M − N back were stored by earlier vectors.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // a run's hot loop: compiled optimized at once
    private void Twist()
    {
        var s = state.AsSpan();
        int width = Vector.IsHardwareAccelerated ? Vector<uint>.Count : 1, i = 0;
        for (; i + width <= N - M; i += width) Renew(s, i, i + M);
        for (; i < N - M; i++) s[i] = s[i + M] ^ Mix(s[i], s[i + 1]);
        for (; i + width <= N - 1; i += width) Renew(s, i, i + M - N);
        for (; i < N - 1; i++) s[i] = s[i + M - N] ^ Mix(s[i], s[i + 1]);
        s[N - 1] = s[M - 1] ^ Mix(s[N - 1], s[0]);
        next = 0;
    }

    // Words i … i + width − 1 renewed from the words after each and the words from `ahead` on (vector Mix).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Renew(Span<uint> s, int i, int ahead)
    {
        if (!Vector.IsHardwareAccelerated) { s[i] = s[ahead] ^ Mix(s[i], s[i + 1]); return; }
        var y = (new Vector<uint>(s[i..]) & new Vector<uint>(UpperMask)) | (new Vector<uint>(s[(i + 1)..]) & new Vector<uint>(LowerMask));
        var odd = Vector<uint>.Zero - (y & Vector<uint>.One);
        (new Vector<uint>(s[ahead..]) ^ Vector.ShiftRightLogical(y, 1) ^ (odd & new Vector<uint>(MatrixA))).CopyTo(s[i..]);
    }

    private static uint Mix(uint word, uint following)
    {
        uint y = (word & UpperMask) | (following & LowerMask);
        return (y >> 1) ^ ((0u - (y & 1)) & MatrixA);      // MatrixA where y is odd, without a branch (half are)
    }
}
