namespace LoraLab.Experiments;

/// <summary>
/// Where a learning-rate sweep stops working. <see cref="EdgeLr"/> is the smallest learning rate
/// above the best one at which the mean accuracy has fallen back to chance (within a margin);
/// null when accuracy stays above chance over the whole grid. <see cref="LastStableLr"/> is the
/// largest learning rate below the edge (or the largest of the grid when there is no edge).
/// </summary>
public sealed record StabilityEdge(double BestLr, double BestAccuracy, double? EdgeLr, double LastStableLr, double Chance, bool LearnedAnything)
{
    public override string ToString() =>
        !LearnedAnything ? $"never above chance ({Chance:P1}): best {BestAccuracy:P1} at η = {BestLr:G3}"
        : EdgeLr is { } edge ? $"best {BestAccuracy:P1} at η = {BestLr:G3}; falls to chance ({Chance:P1}) at η = {edge:G3} (last above chance: {LastStableLr:G3})"
        : $"best {BestAccuracy:P1} at η = {BestLr:G3}; above chance ({Chance:P1}) over the whole grid (up to {LastStableLr:G3})";
}

public static class GlueStability
{
    /// <summary>
    /// The stability edge of one sweep: points are (learning rate, mean accuracy) in any order.
    /// Chance plus <paramref name="margin"/> (e.g. 0.02 = 2 points) counts as chance, because a
    /// collapsed model predicting the majority class scores a hair above or below it on a finite split.
    /// </summary>
    public static StabilityEdge Find(IEnumerable<(double lr, double accuracy)> points, double chance, double margin = 0.02)
    {
        var sorted = points.OrderBy(p => p.lr).ToList();
        if (sorted.Count == 0) throw new ArgumentException("no points", nameof(points));
        // The first maximum: among equally good learning rates the smaller is the safer choice.
        var best = sorted.Aggregate((a, b) => b.accuracy > a.accuracy ? b : a);
        bool learned = best.accuracy > chance + margin;
        if (!learned) return new StabilityEdge(best.lr, best.accuracy, null, sorted[^1].lr, chance, false);

        int bestIndex = sorted.IndexOf(best);
        for (int i = bestIndex + 1; i < sorted.Count; i++)
            if (sorted[i].accuracy <= chance + margin)
                return new StabilityEdge(best.lr, best.accuracy, sorted[i].lr, sorted[i - 1].lr, chance, true);
        return new StabilityEdge(best.lr, best.accuracy, null, sorted[^1].lr, chance, true);
    }

    /// <summary>The edge of one init's cells (λ = 1) of a learning-rate sweep.</summary>
    public static StabilityEdge Find(IEnumerable<GlueCell> cells, string init, double chance, double margin = 0.02) =>
        Find(cells.Where(c => c.Init == init).Select(c => (c.Lr, c.MeanTestAccuracy)), chance, margin);
}
