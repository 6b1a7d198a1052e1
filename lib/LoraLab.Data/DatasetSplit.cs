namespace LoraLab.Data;

/// <summary>Which part of a dataset an item belongs to.</summary>
public enum SplitName { Train, Validation, Test }

/// <summary>Train / validation / test parts of a list of items.</summary>
public sealed record Splits<T>(IReadOnlyList<T> Train, IReadOnlyList<T> Validation, IReadOnlyList<T> Test)
{
    public IReadOnlyList<T> this[SplitName name] => name switch
    {
        SplitName.Train => Train,
        SplitName.Validation => Validation,
        _ => Test,
    };
}

/// <summary>
/// Deterministic train/validation/test splits. Items are split by a GROUP key (the source document),
/// never individually: passages cut from one document share its wording, names and topic, so a passage
/// in train and its neighbour in test would leak and inflate test accuracy.
/// Within each label the groups are ordered by a seeded hash and cut by fraction (stratification),
/// so even a genre with six documents gets at least one in train.
/// </summary>
public static class DatasetSplit
{
    public static Splits<T> ByGroup<T>(
        IEnumerable<T> items,
        Func<T, string> groupKey,
        Func<T, string> label,
        int seed,
        double validationFraction = 0.1,
        double testFraction = 0.1)
    {
        if (validationFraction < 0 || testFraction < 0 || validationFraction + testFraction >= 1)
            throw new ArgumentException("Validation and test fractions must be non-negative and sum to less than 1.");

        var list = items.ToList();
        // A group's label is that of its first item; groups are whole documents, so all items agree.
        var groupLabel = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (T item in list)
            groupLabel.TryAdd(groupKey(item), label(item));

        var assignment = new Dictionary<string, SplitName>(StringComparer.Ordinal);
        foreach (var byLabel in groupLabel.GroupBy(pair => pair.Value).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var groups = DeterministicShuffle.Shuffle(byLabel.Select(pair => pair.Key), key => key, seed);
            int testCount = (int)Math.Round(groups.Count * testFraction);
            int validationCount = (int)Math.Round(groups.Count * validationFraction);
            // Keep at least one group for training whatever the rounding did.
            if (testCount + validationCount >= groups.Count)
            {
                testCount = Math.Min(testCount, Math.Max(0, groups.Count - 1));
                validationCount = Math.Max(0, groups.Count - 1 - testCount);
            }
            for (int i = 0; i < groups.Count; i++)
                assignment[groups[i]] = i < testCount ? SplitName.Test
                    : i < testCount + validationCount ? SplitName.Validation
                    : SplitName.Train;
        }

        var parts = new Dictionary<SplitName, List<T>>
        {
            [SplitName.Train] = [], [SplitName.Validation] = [], [SplitName.Test] = [],
        };
        foreach (T item in list)
            parts[assignment[groupKey(item)]].Add(item);
        return new Splits<T>(parts[SplitName.Train], parts[SplitName.Validation], parts[SplitName.Test]);
    }
}
