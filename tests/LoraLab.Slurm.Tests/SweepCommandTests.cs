using LoraLab.Cli.Sweeps;
using LoraLab.Data;

namespace LoraLab.Slurm.Tests;

/// <summary>`lab sweep` without a cluster: bad input is refused with a clear message, and --dry-run shows the scripts.</summary>
public class SweepCommandTests
{
    private static readonly string Notebook = Path.Combine(DataRoot.RepositoryRoot(), "tests", "notebooks", "sharded-sweep.ipynb");

    private static (int code, string output, string error) Sweep(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = SweepCommand.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("submit without --slurm", "needs --slurm", "submit", "NB")]
    [InlineData("a bad --time", "is not a Slurm time limit", "submit", "NB", "--slurm", "--time", "tomorrow")]
    [InlineData("zero shards", "--shards wants a whole number >= 1", "submit", "NB", "--slurm", "--shards", "0")]
    [InlineData("the sweep's own shard knob", "is set by the sweep itself", "submit", "NB", "--slurm", "--param", "shard=1/2")]
    [InlineData("an unknown option", "unknown option '--gpus'", "submit", "NB", "--slurm", "--gpus", "1")]
    [InlineData("an unknown verb", "unknown verb 'launch'", "launch")]
    [InlineData("a missing notebook", "no notebook at", "submit", "/no/such.ipynb", "--slurm")]
    public void Bad_arguments_exit_2_with_a_message_that_names_the_problem(string what, string message, params string[] args)
    {
        var (code, _, error) = Sweep(args.Select(a => a == "NB" ? Notebook : a).ToArray());
        Assert.True(code == 2, $"{what}: exit {code}");
        Assert.Contains(message, error);
    }

    [Fact]
    public void A_notebook_without_a_shard_knob_is_refused_because_every_task_would_run_the_whole_sweep()
    {
        string notebook = Path.Combine(DataRoot.RepositoryRoot(), "tests", "notebooks", "runner-test.ipynb");
        var (code, _, error) = Sweep("submit", notebook, "--slurm", "--dry-run");
        Assert.Equal(2, code);
        Assert.Contains("declares no `shard` knob", error);
    }

    [Fact]
    public void A_dry_run_prints_both_scripts_with_the_resources_asked_for_and_submits_nothing()
    {
        string run = Path.Combine(Path.GetTempPath(), $"loralab-dry-{Environment.ProcessId}");
        var (code, output, error) = Sweep("submit", Notebook, "--slurm", "--dry-run", "--shards", "5", "--partition", "gpu",
            "--gres", "gpu:1", "--time", "02:00:00", "--sbatch-arg", "--qos=long", "--param", "run_ms=5", "--run-dir", run);
        Assert.True(code == 0, error);
        Assert.Contains("sbatch --array=0-4", output);
        foreach (string line in new[] { "#SBATCH --partition=gpu", "#SBATCH --gres=gpu:1", "#SBATCH --time=02:00:00", "#SBATCH --qos=long" })
            Assert.Equal(2, output.Split('\n').Count(l => l.Trim() == line));      // in the array script and the merge script
        Assert.Contains("--param \"shard=$i/5\"", output);
        Assert.Contains("--param 'run_ms=5'", output);
        Assert.False(Directory.Exists(run), "a dry run writes nothing");
    }

    [Fact]
    public void Each_shard_task_skips_the_drawing_cells_and_the_merge_job_that_renders_the_report_does_not()
    {
        var plan = new SweepPlan(Notebook, "paper", 4, ["run_ms=5"], "/tmp/results.db", "/tmp/run", DataRoot.RepositoryRoot(), "lab",
            new SlurmResources(null, null, null, 1, []), []);

        var shardRun = SlurmScripts.Shards(plan).Split("\n").SkipWhile(line => !line.StartsWith("lab run ")).TakeWhile(line => line.Length > 0)
            .TakeWhile(line => !line.StartsWith("status=")).ToList();
        Assert.Contains(shardRun, line => line.Contains("--skip-tag figures "));
        var mergeRun = SlurmScripts.Merge(plan).Split("\n").SkipWhile(line => !line.StartsWith("lab run ")).Take(3).ToList();
        Assert.Contains(mergeRun, line => line.Contains("--out"));
        Assert.DoesNotContain("--skip-tag", SlurmScripts.Merge(plan));
    }

    [Fact]
    public void Array_ranges_compact_and_expand_as_slurm_writes_them()
    {
        Assert.Equal("0-2,5,7-8", LoraLab.Cli.Sweeps.Slurm.CompactRange([8, 0, 1, 2, 5, 7]));
        Assert.Equal([0, 1, 2, 5, 7, 8], LoraLab.Cli.Sweeps.Slurm.ExpandRange("0-2,5,7-8%2"));
    }

    [Fact]
    public void A_folder_that_is_not_a_sweep_run_is_a_clear_error()
    {
        var (code, _, error) = Sweep("status", Path.GetTempPath());
        Assert.Equal(1, code);
        Assert.Contains("is not a sweep run folder", error);
    }
}
