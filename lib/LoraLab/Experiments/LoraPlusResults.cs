namespace LoraLab.Experiments;

/// <summary>The best η_A for one ratio λ, and what that mean test accuracy was.</summary>
public sealed record LoraPlusRatioBest(double Ratio, double BestLr, double MeanTestAccuracy, double StdTestAccuracy);

/// <summary>
/// Which λ = η_B / η_A won. Each λ is judged at its own best η_A, since a larger λ moves the best
/// η_A down (B already learns faster): comparing at one shared η_A would favour whichever λ that
/// η_A happens to suit. <see cref="Gain"/> is the winner's accuracy minus plain LoRA's (λ = 1).
/// </summary>
public sealed record LoraPlusWinner(LoraPlusRatioBest Winner, LoraPlusRatioBest? PlainLora, IReadOnlyList<LoraPlusRatioBest> PerRatio)
{
    public double Gain => PlainLora is null ? double.NaN : Winner.MeanTestAccuracy - PlainLora.MeanTestAccuracy;

    public override string ToString() =>
        $"λ = {Winner.Ratio:G} wins with {Winner.MeanTestAccuracy:P1} (η_A = {Winner.BestLr:G3})" +
        (PlainLora is null ? "" : $"; plain LoRA (λ = 1) reaches {PlainLora.MeanTestAccuracy:P1} (η_A = {PlainLora.BestLr:G3}), " +
                                  $"a difference of {100 * Gain:+0.0;-0.0;0.0} points");
}

public static class LoraPlusResults
{
    public static LoraPlusWinner Winner(IEnumerable<GlueCell> cells)
    {
        var perRatio = cells.GroupBy(c => c.LrRatio).OrderBy(g => g.Key)
            .Select(g =>
            {
                // The first maximum over η_A in ascending order: ties go to the smaller, safer rate.
                var best = g.OrderBy(c => c.Lr).Aggregate((a, b) => b.MeanTestAccuracy > a.MeanTestAccuracy ? b : a);
                return new LoraPlusRatioBest(g.Key, best.Lr, best.MeanTestAccuracy, best.StdTestAccuracy);
            })
            .ToList();
        if (perRatio.Count == 0) throw new ArgumentException("no LoRA+ runs", nameof(cells));
        // Ties go to the smaller λ, the smaller change from plain LoRA.
        var winner = perRatio.Aggregate((a, b) => b.MeanTestAccuracy > a.MeanTestAccuracy ? b : a);
        return new LoraPlusWinner(winner, perRatio.FirstOrDefault(p => p.Ratio == 1), perRatio);
    }
}
