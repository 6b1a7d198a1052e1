using System.Diagnostics;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;

namespace LoraLab.Data.Tests;

public class SweepTests
{
    [Theory]
    [InlineData(20, 8, 2, 5)]      // four ensembles of 5, not 8 + 8 + 4 (one worker would train the last 4 alone)
    [InlineData(96, 96, 2, 48)]    // the task allows all 96 at once: one ensemble per worker
    [InlineData(88, 8, 2, 8)]      // many ensembles either way: 11 of 8 (the tail is one ensemble of 8 at most)
    [InlineData(3, 8, 4, 1)]       // fewer runs than workers: one run each
    [InlineData(1, 8, 2, 1)]
    [InlineData(30, 8, 1, 8)]      // one worker: the task's maximum
    [InlineData(10, 0, 2, 1)]      // a task that cannot ensemble
    public void The_automatic_ensemble_size_gives_every_worker_an_equal_share_within_the_tasks_maximum(int runs, int largest, int workers, int expected)
    {
        int size = SweepParallelism.BalancedEnsembleSize(runs, largest, workers);
        Assert.Equal(expected, size);
        Assert.InRange(size, 1, Math.Max(1, largest));
    }

    private sealed record Config(string Name, double LearningRate);

    private static readonly Config[] Configs = [new("a", 0.1), new("b", 0.2), new("c", 0.3), new("d", 0.4)];

    private static SweepRunner Runner(ResultsStore store, Shard? shard = null) =>
        new(store, new SweepOptions { Progress = TextWriter.Null, GitCommit = "test", Shard = shard ?? Shard.All });

    private static RunOutcome Train(Config config, int seed, RunContext context)
    {
        for (int step = 0; step < 3; step++)
            context.LogMetric(step, "loss", config.LearningRate * (3 - step) + seed);
        return RunOutcome.Done(new Dictionary<string, double> { ["final_loss"] = config.LearningRate + seed });
    }

    [Fact]
    public void A_delegate_that_throws_is_recorded_as_failed_and_the_other_runs_complete()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        var summary = Runner(store).Run("exp", Configs, [0, 1], (config, seed, context) =>
            config.Name == "b" ? throw new InvalidOperationException("out of memory, pretend") : Train(config, seed, context));

        Assert.Equal((6, 2), (summary.Done, summary.Failed));
        var failed = store.Runs(status: RunStatus.Failed);
        Assert.Equal(2, failed.Count);
        Assert.All(failed, run => Assert.Contains("out of memory, pretend", run.Error));
        Assert.All(failed, run => Assert.Contains("\"Name\":\"b\"", run.ConfigJson));
        Assert.Equal(6, store.Runs(status: RunStatus.Done).Count);

        // Running the sweep again retries only the failed cells.
        var retried = new List<string>();
        Runner(store).Run("exp", Configs, [0, 1], (config, seed, context) => { retried.Add(config.Name); return Train(config, seed, context); });
        Assert.Equal(["b", "b"], retried);
        Assert.Equal(8, store.Runs(status: RunStatus.Done).Count);
    }

    [Fact]
    public void A_diverged_run_is_recorded_as_diverged_and_not_rerun()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        int calls = 0;
        RunOutcome Diverging(Config config, int seed, RunContext context)
        {
            calls++;
            if (config.Name == "a") return RunOutcome.Diverged("loss became NaN at step 2");
            if (config.Name == "b") { context.LogMetric(0, "loss", double.PositiveInfinity); context.MarkDiverged("loss is infinite"); }
            return Train(config, seed, context);
        }
        var summary = Runner(store).Run("exp", Configs, [0], Diverging);
        Assert.Equal((2, 2), (summary.Done, summary.Diverged));
        var diverged = store.Runs(status: RunStatus.Diverged).OrderBy(r => r.Id).ToList();
        Assert.Equal(["loss became NaN at step 2", "loss is infinite"], diverged.Select(r => r.Error));

        Runner(store).Run("exp", Configs, [0], Diverging);
        Assert.Equal(4, calls);
    }

    [Fact]
    public void The_shard_knob_is_the_whole_grid_when_empty_and_one_shard_when_written_i_of_n()
    {
        Assert.Equal(Shard.All, Shard.FromKnob(""));
        Assert.Equal(new Shard(2, 4), Shard.FromKnob("2/4"));
        Assert.Throws<FormatException>(() => Shard.FromKnob("4/4"));
        Assert.Throws<FormatException>(() => Shard.FromKnob("all"));
    }

    [Fact]
    public void Shards_cover_the_grid_exactly_once_and_merging_gives_one_row_per_run()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        var configs = Enumerable.Range(0, 10).Select(i => new Config("c" + i, i / 10.0)).ToArray();
        int[] seeds = [0, 1, 2];
        const int shardCount = 3;

        var grid = SweepRunner.Grid(configs, seeds);
        var owners = grid.Select(job => Enumerable.Range(0, shardCount).Count(i => new Shard(i, shardCount).Contains("exp", job.ConfigHash, job.Seed)));
        Assert.All(owners, count => Assert.Equal(1, count));

        for (int i = 0; i < shardCount; i++)
        {
            using var shardStore = new ResultsStore(folder.File($"shard{i}.db"));
            var summary = Runner(shardStore, new Shard(i, shardCount)).Run("exp", configs, seeds, Train);
            Assert.True(summary.InShard < grid.Count, "each shard should run only part of the grid");
        }

        using var merged = new ResultsStore(folder.File("merged.db"));
        for (int i = 0; i < shardCount; i++)
            merged.MergeFrom(folder.File($"shard{i}.db"));
        var again = merged.MergeFrom(folder.File("shard0.db"));   // merging twice must not duplicate
        Assert.Equal(0, again.RunsCopied);

        var runs = merged.Runs(status: RunStatus.Done);
        Assert.Equal(grid.Count, runs.Count);
        Assert.Equal(grid.Count, runs.Select(r => (r.ConfigHash, r.Seed)).Distinct().Count());
        Assert.All(runs, run => Assert.Equal(3, merged.MetricSeries(run.Id, "loss").Count));

        // A full sweep over the merged database finds nothing left to do.
        Assert.Equal(grid.Count, Runner(merged).Run("exp", configs, seeds, Train).AlreadyFinished);
    }

    [Fact]
    public void Equal_configurations_get_equal_hashes_whatever_the_key_order()
    {
        var first = new Dictionary<string, object> { ["rank"] = 8, ["lr"] = 0.001, ["init"] = new { b = 1, a = 2 } };
        var second = new Dictionary<string, object> { ["init"] = new { a = 2, b = 1 }, ["lr"] = 0.001, ["rank"] = 8 };
        Assert.Equal(CanonicalJson.Serialize(first), CanonicalJson.Serialize(second));
        Assert.Equal("{\"init\":{\"a\":2,\"b\":1},\"lr\":0.001,\"rank\":8}", CanonicalJson.Serialize(first));
        Assert.NotEqual(CanonicalJson.Hash(CanonicalJson.Serialize(first)), CanonicalJson.Hash(CanonicalJson.Serialize(new { rank = 16 })));
    }

    [Fact]
    public void A_sweep_killed_mid_way_and_restarted_has_exactly_one_done_row_per_run()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        string database = folder.File("results.db");
        string testAssembly = typeof(KillTestSweep).Assembly.Location;
        string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { "exec", testAssembly, "sweep-child", database, "40" })
            start.ArgumentList.Add(argument);

        using var child = Process.Start(start)!;
        // Kill once at least two runs are done and another one is in progress (its metrics partly written).
        var clock = Stopwatch.StartNew();
        while (!ReadyToKill(database))
        {
            // (Build the message only on failure: reading the child's output blocks until it exits.)
            if (child.HasExited)
                Assert.Fail($"child sweep ended (exit {child.ExitCode}) before it could be killed: {child.StandardOutput.ReadToEnd()} {child.StandardError.ReadToEnd()}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "child sweep made no progress");
            Thread.Sleep(20);
        }
        child.Kill();   // SIGKILL on Linux and macOS: no cleanup code runs in the child
        child.WaitForExit();

        int doneBeforeRestart;
        using (var store = new ResultsStore(database))
        {
            doneBeforeRestart = store.Runs(status: RunStatus.Done).Count;
            Assert.Contains(store.Runs(), run => run.Status == RunStatus.Running);
        }
        Assert.InRange(doneBeforeRestart, 2, 5);

        var summary = KillTestSweep.Run(database, stepDelayMs: 0, TextWriter.Null);
        Assert.Equal(doneBeforeRestart, summary.AlreadyFinished);

        using var final = new ResultsStore(database);
        var done = final.Runs(status: RunStatus.Done);
        Assert.Equal(KillTestSweep.Configs.Length * KillTestSweep.Seeds.Length, done.Count);
        Assert.Equal(done.Count, done.Select(r => (r.ConfigHash, r.Seed)).Distinct().Count());
        Assert.All(done, run => Assert.Equal(KillTestSweep.Steps, final.MetricSeries(run.Id, "loss").Count));
        Assert.DoesNotContain(final.Runs(), run => run.Status == RunStatus.Running);
        Assert.Contains(final.Runs(status: RunStatus.Failed), run => run.Error!.Contains("abandoned"));
    }

    private static bool ReadyToKill(string database)
    {
        if (!File.Exists(database)) return false;
        try
        {
            using var store = new ResultsStore(database);
            var runs = store.Runs();
            return runs.Count(r => r.Status == RunStatus.Done) >= 2 && runs.Any(r => r.Status == RunStatus.Running);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return false;   // the child is creating the schema right now
        }
    }

    [Fact]
    public void With_a_log_the_progress_writer_gets_only_the_first_and_last_line_and_the_log_one_line_per_run()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        var progress = new StringWriter();
        var log = new StringWriter();
        new SweepRunner(store, new SweepOptions { Progress = progress, Log = log, GitCommit = "test" }).Run("exp", Configs, [0, 1], Train);
        var progressLines = progress.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, progressLines.Length);
        Assert.Contains("8 of 8 runs", progressLines[0]);
        Assert.Contains("8 done", progressLines[1]);
        Assert.Equal(8, log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void A_sweep_log_is_appended_to_and_each_line_is_on_disk_as_soon_as_it_is_written()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        string logs = folder.File("logs");
        using (var first = SweepLog.Open("exp", logs)) first.WriteLine("run 1 done");
        using var second = SweepLog.Open("exp", logs);
        second.WriteLine("run 2 done");
        string text = File.ReadAllText(SweepLog.PathOf("exp", logs));      // read while the writer is still open
        Assert.Contains("run 1 done", text);
        Assert.Contains("run 2 done", text);
        Assert.Throws<ArgumentException>(() => SweepLog.Open("a/b", logs));
    }

    [Fact]
    public void With_LogToFile_each_sweep_appends_its_run_lines_to_the_experiments_log_and_its_last_line_says_where()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        string logs = folder.File("logs");
        var progress = new StringWriter();
        SweepRunner Runner() => new(store, new SweepOptions { Progress = progress, GitCommit = "test", LogToFile = true, LogFolder = logs });

        Runner().Run("exp", Configs.Take(2), [0], Train);
        Runner().Run("exp", Configs, [0], Train);          // a second sweep (another cell) appends to the same file

        var lines = File.ReadAllLines(SweepLog.PathOf("exp", logs));
        Assert.Equal(2, lines.Count(l => l.StartsWith("---")));                  // each sweep opened it once
        Assert.Equal(4, lines.Count(l => l.Contains(": done in")));              // 2 runs, then the 2 the store lacked
        var last = progress.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        Assert.Contains("2 done", last);
        Assert.EndsWith($"one line per run in {SweepLog.PathOf("exp", logs)}", last.TrimEnd());
        Assert.DoesNotContain("done in", progress.ToString());                  // no run line reached the cell's output
    }
}
