namespace LoraLab.Analysis;

/// <summary>A mean with its 95% confidence interval: <c>Mean ± HalfWidth</c> from N values.</summary>
public readonly record struct Estimate(double Mean, double Std, int N, double Low, double High)
{
    public double HalfWidth => (High - Low) / 2;

    /// <summary>The standard error of <see cref="Mean"/> as the method that made the interval measured it (a seed mean:
    /// Std / √N; a bootstrap: the spread of its resamples); NaN when unknown.</summary>
    public double StandardError { get; init; } = double.NaN;

    /// <summary>True when the interval lies entirely above (or below) zero.</summary>
    public bool ExcludesZero => Low > 0 || High < 0;

    /// <summary>
    /// How many values (seeds) an interval of this kind would need to exclude <paramref name="value"/>, if the mean and
    /// the spread of one value stayed as measured: the smallest n above N with t(n − 1) · SE · √(N / n) below the
    /// distance from the mean to the value. A projection, not a promise (a mean from a few seeds moves), but it says
    /// what an inconclusive verdict lacks. Null when it cannot be said: no standard error, the mean on the value, or
    /// more than <paramref name="limit"/> values.
    /// </summary>
    public int? ValuesToExclude(double value, int limit = 100_000)
    {
        double distance = Math.Abs(Mean - value);
        if (!(StandardError > 0) || N < 2 || !(distance > 0) || !double.IsFinite(distance)) return null;
        double spread = StandardError * Math.Sqrt(N);         // of one value
        // The half width falls monotonically with n: a doubling search, then bisection.
        bool Enough(int n) => Statistics.StudentT975(n - 1) * spread / Math.Sqrt(n) < distance;
        int high = N + 1;
        while (!Enough(high)) { if (high >= limit) return null; high = Math.Min(limit, 2 * high); }
        int low = N;                                           // not enough (or the current n)
        while (high - low > 1) { int mid = low + (high - low) / 2; if (Enough(mid)) high = mid; else low = mid; }
        return high;
    }

    /// <summary>"0.53 ± 0.12 (n = 4)" with the given number format; one value has no interval: "0.53 (n = 1)".</summary>
    public string ToString(string format) =>
        N > 1 ? $"{Mean.ToString(format)} ± {HalfWidth.ToString(format)} (n = {N})" : $"{Mean.ToString(format)} (n = {N})";

    public override string ToString() => ToString("G3");

    /// <summary>A signed effect in a findings table, "+0.31 ± 0.40 nats (n = 8)": the mean with its sign, the half width
    /// in <paramref name="digits"/> (a number format such as "0.00"), then the unit; both times <paramref name="scale"/>
    /// (100 for points of accuracy). One value has no interval: "+0.31 nats (n = 1)".</summary>
    public string Signed(string digits, string unit = "", double scale = 1)
    {
        string mean = (scale * Mean).ToString($"+{digits};-{digits}");
        return N > 1 ? $"{mean} ± {(scale * HalfWidth).ToString(digits)}{unit} (n = {N})" : $"{mean}{unit} (n = {N})";
    }
}

/// <summary>
/// The uncertainty every "what we found" needs: seed spread as a Student-t interval, paired differences,
/// bootstrap intervals for statistics without a formula (a fitted slope), and binomial intervals for accuracies.
/// All intervals are two-sided 95%.
/// </summary>
public static class Statistics
{
    /// <summary>Mean, sample standard deviation and t-interval of the mean. NaN values are dropped.</summary>
    public static Estimate Mean(IEnumerable<double> values)
    {
        var xs = values.Where(x => !double.IsNaN(x)).ToArray();
        if (xs.Length == 0) return new Estimate(double.NaN, double.NaN, 0, double.NaN, double.NaN);
        double mean = xs.Average();
        if (xs.Length == 1) return new Estimate(mean, double.NaN, 1, double.NaN, double.NaN);
        double std = Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Length - 1));
        double half = StudentT975(xs.Length - 1) * std / Math.Sqrt(xs.Length);
        return new Estimate(mean, std, xs.Length, mean - half, mean + half) { StandardError = std / Math.Sqrt(xs.Length) };
    }

    /// <summary>
    /// The mean of a − b over pairs that share a seed (or a task, a split): pairing removes what both runs of a pair
    /// have in common, so a difference smaller than either side's spread can still be resolved.
    /// </summary>
    public static Estimate PairedDifference(IEnumerable<(double a, double b)> pairs) =>
        Mean(pairs.Select(p => p.a - p.b));

    /// <summary>
    /// Percentile bootstrap of any statistic: resample the items with replacement, recompute, take the 2.5% and 97.5%
    /// quantiles. Deterministic for a given seed. Resamples whose statistic is NaN (too few distinct items) are skipped.
    /// </summary>
    public static Estimate Bootstrap<T>(IReadOnlyList<T> items, Func<IReadOnlyList<T>, double> statistic, int resamples = 2000, int seed = 0)
    {
        if (items.Count == 0) throw new ArgumentException("the bootstrap needs at least one item", nameof(items));
        double estimate = statistic(items);
        var random = new Random(seed);
        var values = new List<double>(resamples);
        var sample = new T[items.Count];
        for (int b = 0; b < resamples; b++)
        {
            for (int i = 0; i < sample.Length; i++) sample[i] = items[random.Next(items.Count)];
            double value = statistic(sample);
            if (!double.IsNaN(value)) values.Add(value);
        }
        if (values.Count < 2) return new Estimate(estimate, double.NaN, items.Count, double.NaN, double.NaN);
        values.Sort();
        double mean = values.Average();
        double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return new Estimate(estimate, std, items.Count, Quantile(values, 0.025), Quantile(values, 0.975)) { StandardError = std };
    }

    /// <summary>Wilson score interval of a proportion (an accuracy of <paramref name="successes"/> out of <paramref name="n"/>).</summary>
    public static Estimate Proportion(int successes, int n)
    {
        if (n <= 0) throw new ArgumentException("a proportion needs n > 0", nameof(n));
        if (successes < 0 || successes > n) throw new ArgumentOutOfRangeException(nameof(successes), $"{successes} successes out of {n}");
        const double z = 1.959963984540054;
        double p = (double)successes / n;
        double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
        double half = z / (1 + z * z / n) * Math.Sqrt(p * (1 - p) / n + z * z / (4.0 * n * n));
        return new Estimate(p, Math.Sqrt(p * (1 - p) / n), n, centre - half, centre + half) { StandardError = Math.Sqrt(p * (1 - p) / n) };
    }

    /// <summary>Linear interpolation between order statistics (numpy's default), of sorted values.</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) return double.NaN;
        double position = q * (sorted.Count - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    /// <summary>The 97.5% quantile of Student's t with <paramref name="df"/> degrees of freedom (two-sided 95%).</summary>
    public static double StudentT975(int df)
    {
        if (df < 1) throw new ArgumentOutOfRangeException(nameof(df), "t needs at least one degree of freedom");
        if (df <= T975.Length) return T975[df - 1];
        // Cornish-Fisher expansion around the normal quantile: below 1e-4 relative error for df > 30.
        const double z = 1.959963984540054;
        double z3 = z * z * z, z5 = z3 * z * z;
        return z + (z3 + z) / (4.0 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96.0 * df * df);
    }

    // t_{0.975} for df = 1..30 (standard tables, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
    private static readonly double[] T975 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
}
