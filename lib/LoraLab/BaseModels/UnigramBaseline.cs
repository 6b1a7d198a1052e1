namespace LoraLab.BaseModels;

/// <summary>
/// The simplest language model: every token drawn from the training frequencies (add-one smoothed),
/// ignoring context. A pretrained model that does not beat it has learned nothing.
/// </summary>
public static class UnigramBaseline
{
    /// <summary>Mean cross entropy (nats per token) on held-out tokens.</summary>
    public static double CrossEntropy(int[] trainTokens, int[] heldOutTokens, int vocabularySize)
    {
        var counts = new double[vocabularySize];
        foreach (int t in trainTokens) counts[t]++;
        double total = trainTokens.Length + vocabularySize;
        double sum = 0;
        foreach (int t in heldOutTokens) sum -= Math.Log((counts[t] + 1) / total);
        return sum / heldOutTokens.Length;
    }
}
