namespace LoraLab.Data.Results;

/// <summary>
/// For the drawing cells of a notebook whose store may lack runs: a render-only run from a partial paper store, or the
/// merge of shards that have not all finished. A cell with nothing to draw says so and returns, instead of failing.
/// </summary>
public static class MissingRuns
{
    /// <summary>True, after saying so on standard output (the cell's output), when <paramref name="runs"/> is empty.</summary>
    /// <param name="what">What is missing, as the sentence names it: "finished runs of the duration sweep".</param>
    public static bool NoneToDraw<T>(this IReadOnlyCollection<T> runs, string what)
    {
        if (runs.Count > 0) return false;
        Console.WriteLine($"Nothing to draw: the store has no {what} yet (the sweep's line above says how many are missing).");
        return true;
    }
}
