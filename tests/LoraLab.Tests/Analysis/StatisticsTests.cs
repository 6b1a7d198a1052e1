using LoraLab.Analysis;

namespace LoraLab.Tests.Analysis;

public class StatisticsTests
{
    [Fact]
    public void The_t_interval_of_a_mean_matches_a_hand_computation()
    {
        // 1, 2, 3, 4: mean 2.5, sample std sqrt(5/3); t(0.975, 3) = 3.182.
        var estimate = Statistics.Mean([1, 2, 3, 4]);
        double half = 3.182 * Math.Sqrt(5.0 / 3) / 2;
        Assert.Equal(2.5, estimate.Mean, 12);
        Assert.Equal(Math.Sqrt(5.0 / 3), estimate.Std, 12);
        Assert.Equal(2.5 - half, estimate.Low, 12);
        Assert.Equal(2.5 + half, estimate.High, 12);
        Assert.Equal(4, estimate.N);
    }

    [Fact]
    public void One_value_has_no_interval_and_NaN_values_are_dropped()
    {
        var one = Statistics.Mean([double.NaN, 7]);
        Assert.Equal((7.0, 1), (one.Mean, one.N));
        Assert.True(double.IsNaN(one.Low) && double.IsNaN(one.High));
        Assert.False(one.ExcludesZero);
        Assert.Equal("7 (n = 1)", one.ToString());
    }

    [Fact]
    public void A_signed_effect_prints_its_sign_its_half_width_its_unit_and_its_n()
    {
        var estimate = new Estimate(Mean: 0.136, Std: 0.02, N: 8, Low: 0.117, High: 0.155);
        Assert.Equal("+13.6 ± 1.9 points (n = 8)", estimate.Signed("0.0", " points", 100));
        Assert.Equal("+0.136 ± 0.019 nats (n = 8)", estimate.Signed("0.000", " nats"));
        var negative = new Estimate(Mean: -0.19, Std: 0.6, N: 8, Low: -0.73, High: 0.35);
        Assert.Equal("-0.19 ± 0.54 (n = 8)", negative.Signed("0.00"));
        Assert.Equal("+7.0 nats (n = 1)", Statistics.Mean([7.0]).Signed("0.0", " nats"));
    }

    [Fact]
    public void Pairing_resolves_a_difference_smaller_than_the_spread_of_either_side()
    {
        // Each seed shifts both runs alike (±5); b is always 0.1 higher.
        double[] seedEffect = [-5, 3, 0, 4, -2, 1];
        var pairs = seedEffect.Select((s, i) => (a: s + 0.01 * i, b: s + 0.1 + 0.01 * i)).ToList();
        var unpaired = Statistics.Mean(pairs.Select(p => p.a));
        var paired = Statistics.PairedDifference(pairs);
        Assert.True(unpaired.HalfWidth > 1);
        Assert.Equal(-0.1, paired.Mean, 9);
        Assert.True(paired.ExcludesZero);
    }

    [Fact]
    public void The_t_quantile_approaches_the_normal_one_and_agrees_with_the_table_at_its_end()
    {
        Assert.Equal(2.042, Statistics.StudentT975(30), 3);
        Assert.InRange(Statistics.StudentT975(31), 2.039, 2.041);     // table value 2.0395
        Assert.InRange(Statistics.StudentT975(120), 1.979, 1.981);    // table value 1.980
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.StudentT975(0));
    }

    [Fact]
    public void The_bootstrap_interval_of_a_mean_is_close_to_the_t_interval_for_many_normal_values()
    {
        var random = new Random(1);
        var values = Enumerable.Range(0, 400).Select(_ => Normal(random)).ToList();
        var t = Statistics.Mean(values);
        var boot = Statistics.Bootstrap(values, sample => sample.Average(), resamples: 4000);
        Assert.Equal(t.Mean, boot.Mean, 12);
        Assert.InRange(boot.Low, t.Low - 0.02, t.Low + 0.02);
        Assert.InRange(boot.High, t.High - 0.02, t.High + 0.02);
        // Deterministic for a seed.
        Assert.Equal(boot, Statistics.Bootstrap(values, sample => sample.Average(), resamples: 4000));
    }

    [Fact]
    public void The_Wilson_interval_matches_its_formula_and_stays_inside_zero_and_one()
    {
        var p = Statistics.Proportion(207, 300);      // 69%: R's prop.test without correction gives about [0.635, 0.740]
        Assert.Equal(0.69, p.Mean, 12);
        Assert.InRange(p.Low, 0.634, 0.637);
        Assert.InRange(p.High, 0.739, 0.742);
        var all = Statistics.Proportion(10, 10);
        Assert.True(all.High <= 1 && all.Low > 0.6);
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.Proportion(11, 10));
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    // n values with exactly the given mean and sample standard deviation (evenly spaced, then scaled).
    private static double[] Spread(double mean, double std, int n)
    {
        var z = Enumerable.Range(0, n).Select(i => i - (n - 1) / 2.0).ToArray();
        double s = Math.Sqrt(z.Sum(v => v * v) / (n - 1));
        return z.Select(v => mean + std * v / s).ToArray();
    }

    [Fact]
    public void The_projected_number_of_seeds_is_the_first_whose_interval_excludes_the_value_at_the_same_mean_and_spread()
    {
        var four = Statistics.Mean(Spread(1, 2, 4));
        Assert.False(four.ExcludesZero);
        int n = four.ValuesToExclude(0) ?? throw new Xunit.Sdk.XunitException("no projection");
        Assert.True(Statistics.Mean(Spread(1, 2, n)).ExcludesZero);
        Assert.False(Statistics.Mean(Spread(1, 2, n - 1)).ExcludesZero);
        Assert.Equal(18, n);                                  // t(17) · 2 / √18 = 0.995 < 1 ≤ t(16) · 2 / √17 = 1.028
        // A value further from the mean needs fewer; the projection is the same from any n with that mean and spread.
        Assert.True(four.ValuesToExclude(-3) < n);
        Assert.Equal(n, Statistics.Mean(Spread(1, 2, 7)).ValuesToExclude(0));
    }

    [Fact]
    public void A_projection_is_not_made_without_a_standard_error_a_distance_or_within_the_limit()
    {
        Assert.Null(Statistics.Mean(Spread(0, 1, 5)).ValuesToExclude(0));                 // the mean is on the value
        Assert.Null(new Estimate(1, 1, 4, -1, 3).ValuesToExclude(0));                      // made by hand: no standard error
        Assert.Null(Statistics.Mean([0.5]).ValuesToExclude(0));                             // one value
        Assert.Null(Statistics.Mean(Spread(1e-3, 10, 6)).ValuesToExclude(0, limit: 1000));  // needs about 4e8
        // A bootstrap's standard error is the spread of its resamples, so it projects like the t-interval it resembles.
        var values = Spread(1, 2, 8);
        var boot = Statistics.Bootstrap(values, xs => xs.Average());
        Assert.Equal(boot.Std, boot.StandardError);
        Assert.InRange((double)boot.ValuesToExclude(0)!.Value, 0.6 * 18, 1.4 * 18);
    }
}
