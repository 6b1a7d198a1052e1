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
    [InlineData("no notebook", "submit needs NOTEBOOK", "submit", "--slurm")]
    [InlineData("two notebooks", "submit takes one NOTEBOOK", "submit", "NB", "NB", "--slurm")]
    [InlineData("a missing value", "--shards needs a value", "submit", "NB", "--slurm", "--shards")]
    [InlineData("an option where a value belongs", "--time needs a value (got the option '--slurm')", "submit", "NB", "--time", "--slurm")]
    [InlineData("an empty value", "--gres needs a value (got an empty one)", "submit", "NB", "--slurm", "--gres", "")]
    [InlineData("a malformed number", "--shards wants a whole number >= 1, got 'four'", "submit", "NB", "--slurm", "--shards", "four")]
    [InlineData("a negative number", "--cpus-per-task wants a whole number >= 1, got '-2'", "submit", "NB", "--slurm", "--cpus-per-task", "-2")]
    [InlineData("a number too large", "--shards wants a whole number >= 1, got '99999999999'", "submit", "NB", "--slurm", "--shards", "99999999999")]
    [InlineData("an option given twice", "--shards is given twice ('2' and '3')", "submit", "NB", "--slurm", "--shards", "2", "--shards", "3")]
    [InlineData("a flag given a value", "--dry-run takes no value", "submit", "NB", "--slurm", "--dry-run=yes")]
    [InlineData("an unknown profile", "unknown profile 'huge'; use one of quick, paper, ci", "submit", "NB", "--slurm", "--profile", "huge")]
    [InlineData("a param that is not NAME=VALUE", "--param wants NAME=VALUE, got 'lr'", "submit", "NB", "--slurm", "--param", "lr")]
    [InlineData("a param name that is not a C# name", "'run ms' is not a valid C# variable name", "submit", "NB", "--slurm", "--param", "run ms=5")]
    [InlineData("an sbatch argument that is not an option", "--sbatch-arg 'qos=long' is not an sbatch option", "submit", "NB", "--slurm", "--sbatch-arg", "qos=long")]
    [InlineData("a partition with a space", "--partition 'gpu fast' has a space in it", "submit", "NB", "--slurm", "--partition", "gpu fast")]
    [InlineData("a line break in a value (it would be a line of the script)", "--gres: the value may not contain a line break", "submit", "NB", "--slurm", "--gres", "gpu:1\nrm -rf ~")]
    [InlineData("a store that is a folder", "--store /tmp is a folder", "submit", "NB", "--slurm", "--store", "/tmp")]
    [InlineData("a store that is not a results database", "--store NB is not an SQLite database", "submit", "NB", "--slurm", "--store", "NB")]
    [InlineData("a run folder that is a file", "--run-dir NB is a file, not a folder", "submit", "NB", "--slurm", "--run-dir", "NB")]
    [InlineData("an option of submit given to status", "'--shards' is an option of lab sweep submit, not of status", "status", "/tmp", "--shards", "2")]
    [InlineData("--dry-run given to status", "'--dry-run' is an option of lab sweep submit, not of status", "status", "/tmp", "--dry-run")]
    [InlineData("--slurm given to resubmit", "'--slurm' is an option of lab sweep submit, not of resubmit", "resubmit", "/tmp", "--slurm")]
    [InlineData("status without RUN", "status needs RUN", "status")]
    [InlineData("status with two RUNs", "status takes one RUN, got: a b", "status", "a", "b")]
    [InlineData("a RUN that does not exist", "there is no run folder at '/no/such/run'", "status", "/no/such/run")]
    [InlineData("a folder that is not a sweep run", "is not a sweep run folder", "resubmit", "/tmp")]
    [InlineData("options before the verb", "name a verb (submit, status or resubmit) before the options", "--dry-run", "submit")]
    public void Bad_arguments_exit_2_with_a_message_that_names_the_problem(string what, string message, params string[] args)
    {
        var (code, output, error) = Sweep(args.Select(a => a == "NB" ? Notebook : a).ToArray());
        Assert.True(code == 2, $"{what}: exit {code}\n{error}");
        Assert.Contains(message.Replace("NB", Notebook), error);
        Assert.Contains("usage: lab sweep", error);
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData]
    [InlineData("--help")]
    [InlineData("submit", "-h")]
    [InlineData("status", "--help")]
    public void No_verb_or_help_prints_the_usage_and_exits_0(params string[] args)
    {
        var (code, output, _) = Sweep(args);
        Assert.Equal(0, code);
        Assert.Contains("usage: lab sweep submit", output);
    }

    [Fact]
    public void Options_take_their_value_after_an_equals_sign_as_docs_cluster_md_writes_them()
    {
        var (code, output, error) = Sweep("submit", Notebook, "--slurm", "--dry-run", "--shards=3", "--sbatch-arg=--qos=long",
            "--sbatch-arg", "--account=lab", "--param=run_ms=5");
        Assert.True(code == 0, error);
        Assert.Contains("sbatch --array=0-2", output);
        Assert.Contains("#SBATCH --qos=long", output);
        Assert.Contains("#SBATCH --account=lab", output);
        Assert.Contains("--param 'run_ms=5'", output);
    }

    [Theory]
    [InlineData("{ not json", "is not a valid sweep description")]
    [InlineData("{}", "is not a valid sweep description: it lacks Notebook")]
    [InlineData("{\"Notebook\": \"a.ipynb\", \"ShardCount\": 2}", "is not a valid sweep description: it lacks Profile")]
    public void A_sweep_json_that_cannot_be_read_is_a_runtime_failure_not_a_crash(string json, string message)
    {
        string run = Path.Combine(Path.GetTempPath(), $"loralab-bad-sweep-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "sweep.json"), json);
        var (code, _, error) = Sweep("status", run);
        Directory.Delete(run, recursive: true);
        Assert.True(code == 1, $"exit {code}\n{error}");
        Assert.Contains(message, error);
        Assert.DoesNotContain("Exception", error);
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
        Assert.Equal(2, code);   // a bad argument: the RUN named is not a sweep's run folder
        Assert.Contains("is not a sweep run folder", error);
    }
}
