namespace LoraLab.Training;

/// <summary>
/// Indices of shuffled passes (epochs) over a training set, one batch at a time: every example is seen once per
/// epoch, and the order depends on the seed alone, so two runs with one seed see the same batches.
/// A batch that crosses the end of an epoch is completed from the next, reshuffled, pass.
/// </summary>
public sealed class EpochSampler
{
    private readonly int count;
    private readonly int batchSize;
    private readonly Random random;
    private int[] order = [];
    private int position;

    public EpochSampler(int count, int batchSize, int seed)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "the training split is empty");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch_size must be at least 1");
        this.count = count;
        this.batchSize = batchSize;
        random = new Random(seed);
    }

    public IReadOnlyList<int> Next()
    {
        var batch = new List<int>(batchSize);
        while (batch.Count < batchSize)
        {
            if (position >= order.Length)
            {
                order = Enumerable.Range(0, count).ToArray();
                random.Shuffle(order);
                position = 0;
            }
            batch.Add(order[position++]);
        }
        return batch;
    }
}
