namespace LoraLab.Data;

/// <summary>
/// Orders items by a hash of (seed, key). Unlike shuffling with System.Random, the position of an item
/// depends only on its own key and the seed, not on which other items are present or in what order
/// they were loaded, so adding a document to a corpus does not reshuffle all the others.
/// </summary>
public static class DeterministicShuffle
{
    public static List<T> Shuffle<T>(IEnumerable<T> items, Func<T, string> key, int seed) =>
        items.Select(item => (item, rank: StableHash.UInt64($"{seed}:{key(item)}")))
             .OrderBy(pair => pair.rank)
             .ThenBy(pair => key(pair.item), StringComparer.Ordinal)
             .Select(pair => pair.item)
             .ToList();
}
