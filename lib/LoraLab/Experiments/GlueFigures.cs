using System.Globalization;
using LoraLab.Display;

namespace LoraLab.Experiments;

/// <summary>The cells of one task's sweep with that task's chance level, as read from the results store.</summary>
public sealed record GlueTaskCells(string Task, IReadOnlyList<GlueCell> Cells, double ChanceAccuracy);

/// <summary>Notebook 02's figures, drawn from cells queried out of the results store (one panel per task).</summary>
public static class GlueFigures
{
    /// <summary>Test accuracy against the learning rate (log axis), mean ± std over seeds, one line per init, chance dashed in.</summary>
    public static Figure AccuracyVsLr(IReadOnlyList<GlueTaskCells> tasks)
    {
        var figure = new Figure("Test accuracy vs learning rate (mean ± std over seeds)", width: 460 * tasks.Count, height: 420).Grid(1, tasks.Count);
        for (int panel = 1; panel <= tasks.Count; panel++)
        {
            var task = tasks[panel - 1];
            foreach (var init in GlueInits.Both)
            {
                var cells = task.Cells.Where(c => c.Init == init).OrderBy(c => c.Lr).ToList();
                if (cells.Count == 0) continue;
                // Figure.Scatter draws markers only; joining them shows the shape of the curve.
                var trace = new Figure().Scatter(cells.Select(c => c.Lr), cells.Select(c => c.MeanTestAccuracy), $"{GlueInits.Label(init)} · {task.Task}",
                                                 cells.Select(c => c.StdTestAccuracy), panel).Traces[0] with { Mode = "lines+markers" };
                figure.Add(trace);
            }
            var lrs = task.Cells.Select(c => c.Lr).ToList();
            if (lrs.Count > 0)
                figure.Line(new[] { lrs.Min(), lrs.Max() }, new[] { task.ChanceAccuracy, task.ChanceAccuracy }, $"chance · {task.Task}", panel);
            figure.LogX(panel).XTitle($"learning rate η ({task.Task})", panel).YTitle("test accuracy", panel);
        }
        return figure;
    }

    /// <summary>Mean test accuracy over init × learning rate, one heatmap per task.</summary>
    public static Figure InitLrHeatmap(IReadOnlyList<GlueTaskCells> tasks)
    {
        var figure = new Figure("Mean test accuracy: init × learning rate", width: 460 * tasks.Count, height: 300).Grid(1, tasks.Count);
        for (int panel = 1; panel <= tasks.Count; panel++)
        {
            var task = tasks[panel - 1];
            var lrs = task.Cells.Select(c => c.Lr).Distinct().Order().ToList();
            var inits = GlueInits.Both.Where(i => task.Cells.Any(c => c.Init == i)).ToList();
            var z = inits.Select(init => lrs.Select(lr => MeanAt(task.Cells, init, lr, 1)));
            figure.Heatmap(z, lrs.Select(Label), inits.Select(GlueInits.Label), subplot: panel)
                  .XTitle($"learning rate η ({task.Task})", panel);
        }
        return figure;
    }

    /// <summary>Mean test accuracy over (η_A, λ = η_B / η_A) for Init[A]: one heatmap per task.</summary>
    public static Figure LoraPlusHeatmap(IReadOnlyList<GlueTaskCells> tasks)
    {
        var figure = new Figure("LoRA+: mean test accuracy over η_A × λ", width: 460 * tasks.Count, height: 400).Grid(1, tasks.Count);
        for (int panel = 1; panel <= tasks.Count; panel++)
        {
            var task = tasks[panel - 1];
            var lrs = task.Cells.Select(c => c.Lr).Distinct().Order().ToList();
            var ratios = task.Cells.Select(c => c.LrRatio).Distinct().Order().ToList();
            var z = ratios.Select(ratio => lrs.Select(lr => MeanAt(task.Cells, GlueInits.InitA, lr, ratio)));
            figure.Heatmap(z, lrs.Select(Label), ratios.Select(r => "λ=" + r.ToString(CultureInfo.InvariantCulture)), subplot: panel)
                  .XTitle($"η_A ({task.Task})", panel);
        }
        return figure;
    }

    // NaN (a gap in the heatmap) for a cell the store does not have yet.
    private static double MeanAt(IReadOnlyList<GlueCell> cells, string init, double lr, double ratio) =>
        cells.FirstOrDefault(c => c.Init == init && c.Lr == lr && c.LrRatio == ratio)?.MeanTestAccuracy ?? double.NaN;

    /// <summary>A learning rate as a short category label, e.g. "3.1e-04".</summary>
    public static string Label(double lr) => lr.ToString("0.0e+00", CultureInfo.InvariantCulture);
}
