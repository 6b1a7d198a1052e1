using LoraLab.Data.Sweeps;

namespace LoraLab.Data.Tests;

/// <summary>
/// Entry point used only when the test assembly is started as a child process by the crash-safety test:
/// <c>dotnet LoraLab.Data.Tests.dll sweep-child DATABASE STEP_DELAY_MS</c> runs <see cref="KillTestSweep"/>.
/// The test runner itself loads this assembly as a library and never calls Main.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 3 && args[0] == "sweep-child")
        {
            KillTestSweep.Run(args[1], int.Parse(args[2]), Console.Out);
            return 0;
        }
        Console.Error.WriteLine("usage: sweep-child DATABASE STEP_DELAY_MS");
        return 2;
    }
}

/// <summary>A small sweep (3 configurations × 2 seeds, 10 steps each) shared by the child process and the test.</summary>
public static class KillTestSweep
{
    public const string Experiment = "kill-test";
    public const int Steps = 10;
    public static readonly int[] Seeds = [0, 1];

    public sealed record Config(double LearningRate, int Rank);

    public static readonly Config[] Configs = [new(1e-3, 4), new(1e-3, 8), new(3e-3, 4)];

    public static SweepSummary Run(string databasePath, int stepDelayMs, TextWriter progress)
    {
        using var store = new Results.ResultsStore(databasePath);
        var runner = new SweepRunner(store, new SweepOptions { Progress = progress, GitCommit = "test", Device = "cpu" });
        return runner.Run(Experiment, Configs, Seeds, (config, seed, context) =>
        {
            double loss = 1.0;
            for (int step = 0; step < Steps; step++)
            {
                loss *= 1 - config.LearningRate * config.Rank;
                context.LogMetric(step, "loss", loss + seed);
                if (stepDelayMs > 0) Thread.Sleep(stepDelayMs);
            }
            return RunOutcome.Done(new Dictionary<string, double> { ["final_loss"] = loss });
        });
    }
}
