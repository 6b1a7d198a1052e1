using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Experiments;

namespace LoraLab.Tests.Experiments;

/// <summary>
/// The staged learning-rate sweep (grid, widening past an edge that holds an optimum, refinement near the best rate) on a
/// task whose validation loss is known: 1 + log2(η / η*)², η* a curve's optimum, moved by a factor per seed.
/// </summary>
public class LearningRateSweepTests
{
    /// <summary>A curve (its name and optimum) at one learning rate; <paramref name="seed_factors"/> moves the optimum of
    /// seed s to optimum · seed_factors[s] (none: every seed the same).</summary>
    public sealed record ProbeConfig(string curve, double optimum, double learning_rate, double[]? seed_factors = null);

    public sealed class Probe : ISoloSweepTask<Probe, ProbeConfig>
    {
        public static int Trained;

        public static RunOutcome Train(ProbeConfig c, int seed, RunContext context)
        {
            Interlocked.Increment(ref Trained);
            double optimum = c.optimum * (c.seed_factors is { } f ? f[seed] : 1);
            return RunOutcome.Done(new Dictionary<string, double> { ["val_loss"] = 1 + Math.Pow(Math.Log2(c.learning_rate / optimum), 2) });
        }
    }

    private static readonly double[] Grid = [1e-3, 1e-3 * Math.Sqrt(10), 1e-2, 1e-2 * Math.Sqrt(10), 1e-1];   // ×√10 steps

    private static LearningRateSweep<ProbeConfig> Sweep(int extensions, int refinement) =>
        new(c => c.learning_rate, (c, lr) => c with { learning_rate = lr }, "val_loss") { Extensions = extensions, Refinement = refinement, Label = c => c.curve };

    private static ResultsStore NewStore() => new(Path.Combine(TestSupport.TempDir("lr-sweep"), "runs.db"));

    private static readonly SweepOptions Quiet = new() { Progress = TextWriter.Null };

    private static LearningRateSweepResult<ProbeConfig> Run(LearningRateSweep<ProbeConfig> sweep, ResultsStore store, IEnumerable<ProbeConfig> curves,
        int[] seeds, SweepOptions? options = null, TextWriter? progress = null) =>
        sweep.Run<Probe>(store, options ?? Quiet, "lr-sweep", curves, Grid, seeds, SweepParallelism.Serial, progress);

    [Fact]
    public void An_optimum_inside_the_grid_is_refined_near_the_best_rate_and_the_grid_is_not_widened()
    {
        using var store = NewStore();
        var curve = new ProbeConfig("inside", optimum: 1.3e-2, learning_rate: 0);
        var result = Run(Sweep(extensions: 2, refinement: 1), store, [curve], [0, 1]);

        Assert.Empty(result.Widened);
        Assert.Equal(Grid, result.GridRates(curve));
        // One rate a side of the best grid rate 1e-2, halfway in log rate to each neighbour.
        Assert.Equal(new[] { 1e-2 / Math.Pow(10, 0.25), 1e-2 * Math.Pow(10, 0.25) }, result.Refined.Select(c => c.learning_rate).ToArray(), new Near(1e-12));
        Assert.Equal((Grid.Length + 2) * 2, result.Runs.Count);
        Assert.True(result.Complete);
        Assert.Equal(1e-2, result.BestRate(curve)!.Value);
        Assert.Equal(Grid.Length + 2, result.Points(curve).Count);
        Assert.Equal(Grid.Length, result.Points(curve, gridOnly: true).Count);
        Assert.InRange(result.Optimum(curve)!.Rate, 1.1e-2, 1.5e-2);   // the parabola between the refined points lands near η*

        // The store has every run: the same sweep again trains nothing.
        int before = Probe.Trained;
        var again = Run(Sweep(extensions: 2, refinement: 1), store, [curve], [0, 1]);
        Assert.Equal(before, Probe.Trained);
        Assert.Equal(result.Runs.Select(g => g.RunId).Order(), again.Runs.Select(g => g.RunId).Order());
    }

    [Fact]
    public void An_optimum_below_the_grid_widens_that_curves_grid_one_step_at_a_time_until_it_lies_inside()
    {
        using var store = NewStore();
        var low = new ProbeConfig("low", optimum: 2.5e-4, learning_rate: 0);
        var inside = new ProbeConfig("inside", optimum: 1.3e-2, learning_rate: 0);
        var progress = new StringWriter();
        var result = Run(Sweep(extensions: 2, refinement: 1), store, [low, inside], [0], progress: progress);

        // 3.2e-4 first (the best is then that new edge), then 1e-4: 3.2e-4 lies inside.
        Assert.Equal(new[] { 1e-3 / Math.Sqrt(10), 1e-4 }, result.Widened.Select(c => c.learning_rate).ToArray(), new Near(1e-12));
        Assert.All(result.Widened, c => Assert.Equal("low", c.curve));
        Assert.Equal(Grid, result.GridRates(inside));
        Assert.Equal(Grid.Length + 2, result.GridRates(low).Count);
        Assert.Equal(1e-3 / Math.Sqrt(10), result.BestRate(low)!.Value, 1e-12);
        Assert.False(result.Optimum(low)!.AtGridEdge);
        Assert.Contains("widening the grid: low 0.000316", progress.ToString());
        Assert.Contains("widening the grid: low 0.0001", progress.ToString());
        Assert.Equal(4, result.Refined.Count);   // one rate a side of each curve's best

        // Allowed one widening only, the optimum stays on the new edge: flagged, and not refined (a bound, not an estimate).
        using var other = NewStore();
        var once = Run(Sweep(extensions: 1, refinement: 1), other, [low], [0]);
        Assert.Single(once.Widened);
        Assert.True(once.Optimum(low)!.AtLowEdge);
        Assert.Empty(once.Refined);
        Assert.True(once.Complete);   // every stage is in the store; the edge is the claim's business
    }

    [Fact]
    public void One_seed_whose_optimum_lies_above_the_grid_widens_it_for_every_seed()
    {
        using var store = NewStore();
        // Seed 0's optimum 1.3e-2 (inside), seed 1's 1.3e-2 · 12 = 0.156 (above 0.1): the mean curve's best, 3.2e-2, is inside.
        var curve = new ProbeConfig("split", optimum: 1.3e-2, learning_rate: 0, seed_factors: [1, 12]);
        var result = Run(Sweep(extensions: 1, refinement: 0), store, [curve], [0, 1]);

        Assert.Equal(new[] { 1e-1 * Math.Sqrt(10) }, result.Widened.Select(c => c.learning_rate).ToArray(), new Near(1e-12));
        Assert.Equal(2, result.Runs.Count(g => Math.Abs(g.Config.learning_rate - 1e-1 * Math.Sqrt(10)) < 1e-12));
        Assert.Empty(result.Refined);
    }

    [Fact]
    public void A_shard_trains_its_part_of_the_grid_and_neither_widens_nor_refines()
    {
        using var store = NewStore();
        var low = new ProbeConfig("low", optimum: 2.5e-4, learning_rate: 0);
        var result = Run(Sweep(extensions: 2, refinement: 1), store, [low], [0, 1, 2], Quiet.With(Shard.Parse("0/2")));

        Assert.False(result.GridComplete);
        Assert.False(result.Complete);
        Assert.Empty(result.Widened);
        Assert.Empty(result.Refined);
        Assert.InRange(result.Runs.Count, 1, Grid.Length * 3 - 1);
    }

    [Fact]
    public void A_widening_the_store_lacks_leaves_the_grid_as_it_was_and_says_so()
    {
        using var store = NewStore();
        var low = new ProbeConfig("low", optimum: 2.5e-4, learning_rate: 0);
        Run(Sweep(extensions: 0, refinement: 0), store, [low], [0]);   // the grid alone, trained

        int before = Probe.Trained;
        var rendered = Run(Sweep(extensions: 2, refinement: 1), store, [low], [0], Quiet.With(renderOnly: true));
        Assert.Equal(before, Probe.Trained);
        Assert.True(rendered.GridComplete);
        Assert.True(rendered.WideningUntrained);
        Assert.Empty(rendered.Widened);
        Assert.Equal(Grid, rendered.GridRates(low));
        Assert.True(rendered.Optimum(low)!.AtLowEdge);
    }

    [Fact]
    public void Bad_input_is_refused_by_name_before_anything_trains()
    {
        using var store = NewStore();
        var curve = new ProbeConfig("inside", optimum: 1e-2, learning_rate: 0);
        int before = Probe.Trained;
        var negative = Assert.Throws<ArgumentException>(() => Run(Sweep(extensions: -1, refinement: 1), store, [curve], [0]));
        Assert.Contains("Extensions and Refinement must be 0 or more, got -1 and 1", negative.Message);
        Assert.Contains("seed", Assert.Throws<ArgumentException>(() => Run(Sweep(1, 1), store, [curve], [])).Message);
        Assert.Contains("two rates", Assert.Throws<ArgumentException>(() =>
            Sweep(1, 0).Run<Probe>(store, Quiet, "lr-sweep", [curve], [1e-2], [0], SweepParallelism.Serial)).Message);
        Assert.Contains("positive", Assert.Throws<ArgumentException>(() =>
            Sweep(0, 0).Run<Probe>(store, Quiet, "lr-sweep", [curve], [1e-2, -1], [0], SweepParallelism.Serial)).Message);
        Assert.Equal(before, Probe.Trained);
    }

    private sealed class Near(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));
        public int GetHashCode(double obj) => 0;
    }
}

internal static class SweepOptionsExtensions
{
    public static SweepOptions With(this SweepOptions options, Shard? shard = null, bool? renderOnly = null) =>
        new() { Progress = options.Progress, Shard = shard ?? options.Shard, RenderOnly = renderOnly ?? options.RenderOnly };
}
