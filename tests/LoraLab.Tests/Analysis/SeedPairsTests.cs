using LoraLab.Analysis;
using LoraLab.Data.Results;

namespace LoraLab.Tests.Analysis;

public class SeedPairsTests
{
    // A run whose config is its rank; "loss" is the one metric.
    private static GridRun<int> Run(int rank, int seed, double loss) =>
        new(rank, "", seed, RunStatus.Done, new Dictionary<string, double> { ["loss"] = loss }, 0);

    [Fact]
    public void Runs_meet_the_run_of_the_other_group_with_their_seed_and_a_seed_only_one_group_has_is_left_out()
    {
        var a = new[] { Run(1, 2, 5.0), Run(1, 0, 3.0), Run(1, 1, 4.0) };
        var b = new[] { Run(4, 1, 1.0), Run(4, 0, 2.0), Run(4, 7, 9.0) };

        var pairs = SeedPairs.Of(a, b);

        Assert.Equal(new[] { 0, 1 }, pairs.Select(p => p.Key).ToArray());          // a's order; seeds 2 and 7 have no partner
        Assert.All(pairs, p => Assert.Equal(p.A.Seed, p.B.Seed));
    }

    [Fact]
    public void The_difference_is_the_mean_of_the_per_seed_differences_with_the_t_interval_of_Statistics()
    {
        var a = new[] { Run(1, 0, 3.0), Run(1, 1, 4.5), Run(1, 2, 5.0), Run(1, 3, double.NaN) };
        var b = new[] { Run(4, 2, 4.0), Run(4, 0, 2.0), Run(4, 1, 4.0), Run(4, 3, 1.0) };

        var difference = SeedPairs.Difference(a, b, "loss");

        // Seeds 0, 1, 2: differences 1.0, 0.5, 1.0 (seed 3's NaN is dropped); unpaired, the means would differ by 1.875.
        Assert.Equal(Statistics.Mean([1.0, 0.5, 1.0]), difference);
        Assert.Equal(3, difference.N);
    }

    [Fact]
    public void Runs_can_be_paired_by_another_key_such_as_rank_and_seed()
    {
        GridRun<int> Target(int rank, int seed, string modules, double loss) =>
            new(rank, modules, seed, RunStatus.Done, new Dictionary<string, double> { ["loss"] = loss }, 0);
        var attention = new[] { Target(1, 0, "attn", 2.0), Target(4, 0, "attn", 1.5) };
        var mlp = new[] { Target(4, 0, "mlp", 1.0), Target(1, 0, "mlp", 1.8) };

        var difference = SeedPairs.Difference(attention, mlp, "loss", run => (run.Config, run.Seed));

        Assert.Equal(2, difference.N);
        Assert.Equal((0.2 + 0.5) / 2, difference.Mean, 12);
        // By seed alone the two ranks of seed 0 collide: refused, naming the key, rather than one picked arbitrarily.
        var error = Assert.Throws<ArgumentException>(() => SeedPairs.Difference(attention, mlp, "loss"));
        Assert.Contains("the first group has 2 runs with the key 0", error.Message);
    }
}
