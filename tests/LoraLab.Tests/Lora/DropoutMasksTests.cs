using LoraLab.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests.Lora;

/// <summary>LoRA's dropout masks drawn in C# on the CPU are libtorch's, bit for bit, draw after draw.</summary>
public class DropoutMasksTests
{
    [Fact]
    public void The_Mersenne_Twister_gives_the_reference_outputs_of_mt19937()
    {
        // The C++ standard's check: the 10000th output of std::mt19937 with the default seed 5489 is 4123659995.
        var twister = new MersenneTwister(5489);
        uint last = 0;
        for (int i = 0; i < 10000; i++) last = twister.Next();
        Assert.Equal(4123659995u, last);
        // Matsumoto and Nishimura's published outputs start, for seed 5489, with 3499211612, 581869302, 3890346734.
        var fresh = new MersenneTwister(5489);
        Assert.Equal(new uint[] { 3499211612, 581869302, 3890346734 }, new[] { fresh.Next(), fresh.Next(), fresh.Next() });
    }

    [Fact]
    public void Filling_blocks_of_any_length_gives_the_outputs_of_as_many_single_draws()
    {
        var (single, blocks) = (new MersenneTwister(77), new MersenneTwister(77));
        var expected = Enumerable.Range(0, 5000).Select(_ => single.Next()).ToArray();
        var filled = new uint[5000];
        int at = 0;
        foreach (int length in new[] { 1, 7, 616, 624, 625, 0, 1300, 1827 })
        {
            blocks.Fill(filled.AsSpan(at, length));
            at += length;
        }
        Assert.Equal(5000, at);
        Assert.Equal(expected, filled);
    }

    public static TheoryData<ulong, double> Seeds => new()
    {
        { 0UL, 0.05 }, { 1UL, 0.5 }, { 123456789UL, 0.1 },
        { 0x7FFF_FFFF_FFFF_FFFFUL, 0.2 },       // a seed above 32 bits, as torch.randint_long(long.MaxValue) draws them
        { 0xDEAD_BEEF_0000_0001UL, 0.9 },
    };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void On_the_CPU_every_mask_of_a_stream_equals_libtorchs_from_a_generator_with_the_same_seed(ulong seed, double p)
    {
        var masks = new DropoutMasks(p, seed, torch.CPU);
        using var generator = new Generator(seed, torch.CPU);
        // Shapes that end before, at and after the twister's 624-word block, and one of several blocks, in a row: each
        // draw must continue where the last one left the stream.
        long[][] shapes = [[1], [623], [1], [3, 208, 64], [624], [625], [2, 5, 7], [100_003]];
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
            foreach (var shape in shapes)
            {
                using var ours = masks.Next(shape, dtype, torch.CPU);
                using var theirs = torch.rand(shape, ScalarType.Float32, torch.CPU, generator: generator).ge(p).to(dtype).mul_(1 / (1 - p));
                Assert.Equal(dtype, ours.dtype);
                Assert.Equal(shape, ours.shape);
                // Bit for bit: the masks hold two values, 0 and 1/(1 − p), so equal values are equal bits.
                long differing = ours.ne(theirs).sum().item<long>();
                Assert.True(differing == 0, $"seed {seed}, p {p}, {dtype} [{string.Join(", ", shape)}]: {differing} of {ours.numel()} elements differ");
            }
    }

    [Fact]
    public void A_mask_drops_about_p_of_the_elements_and_scales_the_rest_by_one_over_one_minus_p()
    {
        var masks = new DropoutMasks(0.25, 42, torch.CPU);
        using var mask = masks.Next([200_000], ScalarType.Float32, torch.CPU);
        double dropped = mask.eq(0).to(ScalarType.Float64).mean().item<double>();
        Assert.InRange(dropped, 0.245, 0.255);
        Assert.Equal((float)(1 / 0.75), mask.max().item<float>());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    public void A_probability_outside_zero_to_one_is_refused(double p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DropoutMasks(p, 1, torch.CPU));
}
