using LoraLab.Data.Results;

namespace LoraLab.Analysis;

/// <summary>
/// The paired comparison the notebooks make between two groups of a sweep's runs (two inits at their best rates, LoRA+
/// against plain LoRA, two target-module sets): each run of one group meets the run of the other with the same seed
/// (or another key: seed and rank, seed and training length), and the difference a − b of a metric is averaged over
/// the pairs with its t interval (<see cref="Statistics.PairedDifference"/>). The two runs of a seed share their data
/// order and init, so pairing removes what they have in common, and an effect smaller than the spread over seeds can
/// still be resolved.
/// </summary>
public static class SeedPairs
{
    /// <summary>The runs of <paramref name="a"/> and <paramref name="b"/> with equal keys, in the order of
    /// <paramref name="a"/>; a key only one group has is left out. Two runs with one key in a group are an error.</summary>
    public static IReadOnlyList<(TKey Key, GridRun<T> A, GridRun<T> B)> Of<T, TKey>(IEnumerable<GridRun<T>> a, IEnumerable<GridRun<T>> b,
        Func<GridRun<T>, TKey> pairBy) where TKey : notnull
    {
        var first = OnePerKey(a, pairBy, "first");
        var second = OnePerKey(b, pairBy, "second").ToDictionary(run => pairBy(run));
        return first.Where(run => second.ContainsKey(pairBy(run))).Select(run => (pairBy(run), run, second[pairBy(run)])).ToList();
    }

    /// <summary>The runs of the two groups paired by seed.</summary>
    public static IReadOnlyList<(int Key, GridRun<T> A, GridRun<T> B)> Of<T>(IEnumerable<GridRun<T>> a, IEnumerable<GridRun<T>> b) =>
        Of(a, b, run => run.Seed);

    /// <summary>The mean over seeds of <paramref name="metric"/>'s a − b, with its 95% interval; NaN differences are dropped.</summary>
    public static Estimate Difference<T>(IEnumerable<GridRun<T>> a, IEnumerable<GridRun<T>> b, string metric) =>
        Difference(a, b, metric, run => run.Seed);

    /// <summary>The same, the runs paired by <paramref name="pairBy"/> (e.g. <c>run => (run.Config.r, run.Seed)</c>).</summary>
    public static Estimate Difference<T, TKey>(IEnumerable<GridRun<T>> a, IEnumerable<GridRun<T>> b, string metric,
        Func<GridRun<T>, TKey> pairBy) where TKey : notnull =>
        Statistics.PairedDifference(Of(a, b, pairBy).Select(pair => (pair.A[metric], pair.B[metric])));

    // A group with two runs of one key mixes configurations (two learning rates of one seed): a pairing would pick one
    // of them arbitrarily, so it is refused, naming the key.
    private static List<GridRun<T>> OnePerKey<T, TKey>(IEnumerable<GridRun<T>> runs, Func<GridRun<T>, TKey> pairBy, string group) where TKey : notnull
    {
        var list = runs.ToList();
        var repeated = list.GroupBy(pairBy).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"the {group} group has {repeated.Count()} runs with the key {repeated.Key}: select one configuration " +
                                        "per group (one learning rate, one init), or pair by a key that tells them apart");
        return list;
    }
}
