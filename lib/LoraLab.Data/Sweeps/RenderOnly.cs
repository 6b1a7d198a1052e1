namespace LoraLab.Data.Sweeps;

/// <summary>
/// Render-only: sweeps train nothing, they draw from the runs the store already has and list the ones it lacks.
/// `lab run --render-only` turns it on for the notebooks it runs (and `lab run --profile paper` on a machine without a
/// GPU, where the paper's runs take hours: they come from the committed shards instead, data/results/paper/). The
/// switch is an environment variable so that it reaches every process of a run: the notebook's, and its sweeps' workers.
/// </summary>
public static class RenderOnly
{
    public const string Variable = "LORALAB_RENDER_ONLY";

    /// <summary>Whether this process is in render-only mode: <see cref="Variable"/> is "1" or "true".</summary>
    public static bool IsOn => Environment.GetEnvironmentVariable(Variable)?.Trim().ToLowerInvariant() is "1" or "true";

    /// <summary>What to do about missing runs, said once per sweep (the runs themselves are listed in its log).</summary>
    public const string HowToTrain = "listed in the sweep's log; train them without --render-only, or for the paper profile on a GPU: tests/gpu/README.md";
}
