using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// <summary>
/// Batches of language-model training windows cut from one long token stream (a token shard):
/// each row is `contextLength` consecutive tokens starting at a random offset, as nanoGPT does.
/// The sequence of batches is a function of the seed alone, so a seeded run repeats exactly.
/// </summary>
public sealed class TokenWindows
{
    private readonly int[] tokens;
    private readonly Random random;

    public TokenWindows(int[] tokens, int contextLength, int batchSize, int seed)
    {
        if (contextLength < 2) throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength, "a window needs at least 2 tokens");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1");
        if (tokens.Length <= contextLength)
            throw new ArgumentException($"the token stream ({tokens.Length} tokens) is shorter than one window ({contextLength} + 1)");
        this.tokens = tokens;
        ContextLength = contextLength;
        BatchSize = batchSize;
        random = new Random(seed);
    }

    public int ContextLength { get; }
    public int BatchSize { get; }

    /// <summary>The next batch, [BatchSize, ContextLength] int64, on the given device.</summary>
    public Tensor Next(Device? device = null)
    {
        var rows = new long[BatchSize * ContextLength];
        for (int b = 0; b < BatchSize; b++)
        {
            int start = random.Next(tokens.Length - ContextLength);
            for (int t = 0; t < ContextLength; t++) rows[b * ContextLength + t] = tokens[start + t];
        }
        var batch = torch.tensor(rows, new long[] { BatchSize, ContextLength });
        if (device is not { type: DeviceType.CUDA } d) return batch;
        using (batch) return batch.to(d);
    }

    /// <summary>Consecutive non-overlapping windows covering a held-out stream, for evaluation.</summary>
    public static IEnumerable<Tensor> Sequential(int[] tokens, int contextLength, int batchSize, int maxBatches = int.MaxValue)
    {
        int windows = tokens.Length / contextLength;
        for (int first = 0, made = 0; first < windows && made < maxBatches; first += batchSize, made++)
        {
            int count = Math.Min(batchSize, windows - first);
            var rows = new long[count * contextLength];
            for (int i = 0; i < rows.Length; i++) rows[i] = tokens[first * contextLength + i];
            yield return torch.tensor(rows, new long[] { count, contextLength });
        }
    }
}
