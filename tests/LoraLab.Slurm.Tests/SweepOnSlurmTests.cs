using System.Diagnostics;
using LoraLab.Data;
using LoraLab.Data.Results;

namespace LoraLab.Slurm.Tests;

[Collection(SlurmCollection.Name)]
public sealed class SweepOnSlurmTests(LazyCluster cluster)
{
    private static readonly string Root = DataRoot.RepositoryRoot();
    private static readonly string Notebook = Path.Combine(Root, "tests", "notebooks", "sharded-sweep.ipynb");
    private const int GridRuns = 12;      // 6 configurations × 2 seeds in the fixture notebook

    [SlurmFact]
    public void A_sharded_sweep_runs_as_a_job_array_then_merges_and_renders_the_report()
    {
        var slurm = cluster.Cluster;
        string folder = NewFolder("end-to-end");
        string store = Path.Combine(folder, "merged.db"), run = Path.Combine(folder, "run");

        Lab("sweep", "submit", Notebook, "--slurm", "--profile", "ci", "--shards", "3", "--cpus-per-task", "1",
            "--store", store, "--run-dir", run, "--param", "run_ms=100");
        slurm.WaitUntilEmpty(TimeSpan.FromMinutes(5));

        AssertEveryRunOnce(store);
        Assert.True(File.Exists(Path.Combine(run, "report", "sharded-sweep.html")), "the merge job renders the report");
        string rendered = File.ReadAllText(Path.Combine(run, "report", "sharded-sweep.ipynb"));
        Assert.Contains($"{GridRuns} of {GridRuns} runs finished; this render trained 0", rendered);
        string status = Lab("sweep", "status", run);
        Assert.Equal(3, status.Split('\n').Count(line => line.Contains("finished") && line.Contains("shard")));
        Assert.Contains("merge: done", status);
    }

    [SlurmFact]
    public void A_shard_killed_mid_run_is_resubmitted_alone_and_nothing_is_lost_or_repeated()
    {
        var slurm = cluster.Cluster;
        string folder = NewFolder("kill");
        string store = Path.Combine(folder, "merged.db"), run = Path.Combine(folder, "run");
        Lab("sweep", "submit", Notebook, "--slurm", "--profile", "ci", "--shards", "3", "--cpus-per-task", "1",
            "--store", store, "--run-dir", run, "--param", "run_ms=1500");
        string arrayJob = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "sweep.json")))
            .RootElement.GetProperty("Submissions")[0].GetProperty("ArrayJobId").GetString()!;

        // Kill shard 0 once it has finished at least one run, so that it dies half-way through its grid.
        string shard0 = Path.Combine(run, "shards", "shard-0.db");
        WaitFor(() => File.Exists(shard0) && DoneRuns(shard0) >= 1, TimeSpan.FromMinutes(3), "shard 0 to finish a run");
        SlurmCluster.Run("scancel", $"{arrayJob}_0");
        slurm.WaitUntilEmpty(TimeSpan.FromMinutes(5));

        string status = Lab("sweep", "status", run);
        Assert.Contains("shard 0: not finished and not queued", status);
        Assert.Contains("merge: failed: shards 0 did not finish", status);
        Assert.False(File.Exists(store) && DoneRuns(store) == GridRuns, "the failed merge must not render (it would train the rest itself)");

        string resubmitted = Lab("sweep", "resubmit", run);
        Assert.Contains("shards 0 of 3", resubmitted);
        slurm.WaitUntilEmpty(TimeSpan.FromMinutes(5));

        AssertEveryRunOnce(store);
        Assert.Contains("merge: done", Lab("sweep", "status", run));
        Assert.Contains("nothing to resubmit", Lab("sweep", "resubmit", run));
    }

    [SlurmFact]
    public void Notebook_02s_ci_sweep_runs_in_three_shards_through_slurm_and_its_report_trains_nothing()
    {
        var slurm = cluster.Cluster;
        string folder = NewFolder("notebook-02");
        string store = Path.Combine(folder, "merged.db"), run = Path.Combine(folder, "run");
        Lab("sweep", "submit", Path.Combine(Root, "notebooks", "02-learning-rate-sweeps.ipynb"), "--slurm", "--profile", "ci",
            "--shards", "3", "--cpus-per-task", "1", "--store", store, "--run-dir", run);
        slurm.WaitUntilEmpty(TimeSpan.FromMinutes(15));

        Assert.Contains("merge: done", Lab("sweep", "status", run));
        using var merged = new ResultsStore(store);
        var finished = merged.Runs().Where(r => r.Status is RunStatus.Done or RunStatus.Diverged).ToList();
        Assert.NotEmpty(finished);
        Assert.Equal(finished.Count, finished.Select(r => (r.Experiment, r.ConfigHash, r.Seed)).Distinct().Count());
        // The report's own sweep found every run in the merged store: the shards covered the whole grid.
        string rendered = File.ReadAllText(Path.Combine(run, "report", "02-learning-rate-sweeps.ipynb"));
        Assert.Contains("finished: 0 done, 0 diverged, 0 failed", rendered);
        Assert.True(File.Exists(Path.Combine(run, "report", "02-learning-rate-sweeps.html")));
    }

    /// <summary>Every configuration × seed of the grid has exactly one finished run in the merged store.</summary>
    private static void AssertEveryRunOnce(string store)
    {
        using var merged = new ResultsStore(store);
        var finished = merged.Runs("sharded-sweep").Where(r => r.Status == RunStatus.Done).ToList();
        Assert.Equal(GridRuns, finished.Count);
        Assert.Equal(GridRuns, finished.Select(r => (r.ConfigHash, r.Seed)).Distinct().Count());
    }

    private static int DoneRuns(string database)
    {
        using var store = new ResultsStore(database);
        return store.Runs(status: RunStatus.Done).Count;
    }

    private static void WaitFor(Func<bool> condition, TimeSpan limit, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"waited {limit.TotalSeconds:F0}s for {what}");
            Thread.Sleep(200);
        }
    }

    private static string NewFolder(string name)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"loralab-sweep-{name}-{Environment.ProcessId}");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>Runs the built `lab` (next to this test assembly) and returns its output; a non-zero exit fails the test.</summary>
    private static string Lab(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "lab.dll"));
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"lab {string.Join(' ', arguments)} exited {process.ExitCode}:\n{output}\n{error.Result}");
        return output;
    }
}
