using System.Collections.Concurrent;
using System.Text;

namespace LoraLab.Data.Tokenization;

/// <summary>
/// Learns byte-level BPE merges from a corpus. The classic algorithm: count every pre-token piece once,
/// then repeatedly merge the most frequent adjacent pair of symbols. To stay fast we never rescan the
/// corpus: we keep a count per pair and, per pair, the list of distinct words containing it, and after
/// each merge we only recount the words that contained the merged pair.
/// Ties between equally frequent pairs go to the smaller (left, right) id pair, so training is deterministic.
/// </summary>
public static class BpeTrainer
{
    public static readonly string[] DefaultSpecialTokens = [BpeTokenizer.EndOfText, BpeTokenizer.Pad];

    /// <param name="texts">Training documents.</param>
    /// <param name="vocabularySize">Total ids wanted: 256 bytes + merges + special tokens.</param>
    /// <param name="specialTokens">Defaults to &lt;|endoftext|&gt; and &lt;|pad|&gt;.</param>
    /// <param name="minPairCount">Stop early when the best pair occurs fewer times than this.</param>
    public static BpeTokenizer Train(IEnumerable<string> texts, int vocabularySize, IReadOnlyList<string>? specialTokens = null, int minPairCount = 2)
    {
        specialTokens ??= DefaultSpecialTokens;
        int mergesWanted = vocabularySize - 256 - specialTokens.Count;
        if (mergesWanted < 0)
            throw new ArgumentOutOfRangeException(nameof(vocabularySize), $"Vocabulary size must be at least {256 + specialTokens.Count}.");

        var preTokenizer = new PreTokenizer();
        var (words, frequencies) = CountPieces(texts, preTokenizer);

        var pairCount = new Dictionary<long, long>();
        var wordsWithPair = new Dictionary<long, List<int>>();
        for (int w = 0; w < words.Count; w++)
            AddPairs(words[w], w, frequencies[w], +1, pairCount, wordsWithPair);

        var merges = new List<(int, int)>(mergesWanted);
        while (merges.Count < mergesWanted && pairCount.Count > 0)
        {
            long best = BestPair(pairCount);
            if (pairCount[best] < minPairCount) break;
            int left = (int)(best >> 32), right = (int)(best & 0xFFFFFFFF);
            int newId = 256 + merges.Count;
            merges.Add((left, right));

            foreach (int w in wordsWithPair[best].Distinct().ToList())
            {
                int[] word = words[w];
                int[] merged = Merge(word, left, right, newId);
                if (merged.Length == word.Length) continue;   // stale index entry: the pair was merged away earlier
                AddPairs(word, w, frequencies[w], -1, pairCount, wordsWithPair);
                words[w] = merged;
                AddPairs(merged, w, frequencies[w], +1, pairCount, wordsWithPair);
            }
            pairCount.Remove(best);
            wordsWithPair.Remove(best);
        }
        return new BpeTokenizer(merges, specialTokens, preTokenizer.Pattern);
    }

    /// <summary>Distinct pieces as byte-symbol arrays with their counts. Counting runs in parallel over documents.</summary>
    private static (List<int[]> Words, List<long> Frequencies) CountPieces(IEnumerable<string> texts, PreTokenizer preTokenizer)
    {
        var totals = new ConcurrentDictionary<string, long>();
        Parallel.ForEach(texts,
            () => new Dictionary<string, long>(),
            (text, _, local) =>
            {
                var lookup = local.GetAlternateLookup<ReadOnlySpan<char>>();
                preTokenizer.ForEachPiece(text, piece =>
                {
                    lookup.TryGetValue(piece, out long count);
                    lookup[piece] = count + 1;
                });
                return local;
            },
            local => { foreach (var (piece, count) in local) totals.AddOrUpdate(piece, count, (_, old) => old + count); });

        // Sort so word indices (and hence nothing downstream) depend on thread timing.
        var words = new List<int[]>(totals.Count);
        var frequencies = new List<long>(totals.Count);
        foreach (var (piece, count) in totals.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            words.Add(Encoding.UTF8.GetBytes(piece).Select(b => (int)b).ToArray());
            frequencies.Add(count);
        }
        return (words, frequencies);
    }

    /// <summary>Adds (sign = +1) or removes (sign = -1) the adjacent pairs of one word, weighted by its frequency.</summary>
    private static void AddPairs(int[] word, int wordIndex, long frequency, int sign,
        Dictionary<long, long> pairCount, Dictionary<long, List<int>> wordsWithPair)
    {
        for (int i = 0; i + 1 < word.Length; i++)
        {
            long key = BpeTokenizer.PairKey(word[i], word[i + 1]);
            long updated = pairCount.GetValueOrDefault(key) + sign * frequency;
            if (updated > 0)
                pairCount[key] = updated;
            else
                pairCount.Remove(key);
            if (sign > 0)
            {
                if (!wordsWithPair.TryGetValue(key, out var list))
                    wordsWithPair[key] = list = [];
                list.Add(wordIndex);   // duplicates and stale entries are tolerated; see the merge loop
            }
        }
    }

    private static long BestPair(Dictionary<long, long> pairCount)
    {
        long bestKey = long.MaxValue, bestCount = -1;
        foreach (var (key, count) in pairCount)
            if (count > bestCount || (count == bestCount && key < bestKey))
                (bestKey, bestCount) = (key, count);
        return bestKey;
    }

    /// <summary>Replaces every non-overlapping occurrence of (left, right), scanning left to right.</summary>
    private static int[] Merge(int[] word, int left, int right, int newId)
    {
        var merged = new List<int>(word.Length);
        for (int i = 0; i < word.Length; i++)
        {
            if (i + 1 < word.Length && word[i] == left && word[i + 1] == right)
            {
                merged.Add(newId);
                i++;
            }
            else merged.Add(word[i]);
        }
        return merged.ToArray();
    }
}
