using System.Diagnostics;
using LoraLab.Data;
using LoraLab.Data.Results;

namespace LoraLab.Slurm.Tests;

/// <summary>
/// Bad input to every `lab` command, run as a user runs it: the built lab.dll (next to this test assembly) as a child
/// process, and the `lab` script for what it checks itself. The property throughout: an unknown, missing or malformed
/// argument exits 2 with a message that names it, and never a stack trace. Nothing here trains or builds.
/// </summary>
public sealed class CommandLineTests : IDisposable
{
    private static readonly string Root = DataRoot.RepositoryRoot();
    private readonly List<string> _folders = [];

    public void Dispose()
    {
        foreach (string folder in _folders)
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    private sealed record Result(int Code, string Output, string Error)
    {
        public string All => Output + Error;
        public override string ToString() => $"exit {Code}\n--- stdout\n{Output}\n--- stderr\n{Error}";
    }

    /// <summary>`dotnet lab.dll ARGS` from a scratch folder, so that relative paths are the test's own.</summary>
    private Result Lab(params string[] args) => Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "lab.dll"), .. args], Scratch());

    private static Result Start(string program, IEnumerable<string> args, string workingDirectory, TimeSpan? limit = null,
                                Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment ?? []) start.Environment[name] = value;
        start.Environment["NO_COLOR"] = "1";
        start.Environment["JUPYTER_DATA_DIR"] = Path.Combine(workingDirectory, "jupyter"); // a kernel install that slipped through lands here
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(limit ?? TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not end in time (it should have refused its arguments at once)");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>A fresh folder under the temporary folder, removed after the test.</summary>
    private string Scratch()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"loralab-cli-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(folder);
        _folders.Add(folder);
        return folder;
    }

    private static void AssertBadArguments(Result result, string names, string usage)
    {
        Assert.True(result.Code == 2, result.ToString());
        Assert.Contains(names, result.Error);
        Assert.Contains(usage, result.Error);
        Assert.DoesNotContain("Exception", result.All);
        Assert.DoesNotContain("   at ", result.All);
    }

    /// <summary>A results database with one finished run of experiment <paramref name="experiment"/>.</summary>
    private static string ResultsDatabase(string folder, string experiment, string configHash = "c0ffee")
    {
        string path = Path.Combine(folder, $"{experiment}.db");
        using var store = new ResultsStore(path);
        long id = store.TryStartRun(experiment, "{\"lr\":0.01}", configHash, seed: 7) ?? throw new InvalidOperationException("run not started");
        store.FinishRun(id, RunStatus.Done, finalMetrics: new Dictionary<string, double> { ["loss"] = 0.25 },
            lastPoints: [(10, "loss", 0.25)]);
        return path;
    }

    // ---- lab (the dll) ----

    [Theory]
    [InlineData]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Lab_with_no_command_or_help_prints_the_usage_and_exits_0(params string[] args)
    {
        var result = Lab(args);
        Assert.True(result.Code == 0, result.ToString());
        Assert.Contains("usage: lab <command>", result.Output);
    }

    [Fact]
    public void An_unknown_command_of_lab_exits_2_and_names_it()
    {
        AssertBadArguments(Lab("frobnicate"), "unknown command 'frobnicate'", "usage: lab <command>");
    }

    // ---- lab results ----

    [Theory]
    [InlineData("unknown option '--bogus'", "list", "--bogus")]
    [InlineData("unknown option '--bogus'", "csv", "--bogus", "value")]
    [InlineData("unknown option '--bogus'", "merge", "x.db", "--bogus")]
    [InlineData("unknown option '-x'", "list", "-x")]
    [InlineData("'--metrics' is an option of lab results csv, not of list", "list", "--metrics")]
    [InlineData("'--experiment' is an option of lab results list, not of merge", "merge", "x.db", "--experiment", "e")]
    [InlineData("--db needs a value", "list", "--db")]
    [InlineData("--experiment needs a value", "csv", "--experiment")]
    [InlineData("--out needs a value", "csv", "--out")]
    [InlineData("--db needs a value (got the option '--experiment')", "list", "--db", "--experiment", "e")]
    [InlineData("--experiment is given twice", "list", "--experiment", "a", "--experiment", "b")]
    [InlineData("--metrics takes no value", "csv", "--metrics=yes")]
    [InlineData("unknown verb 'show'", "show")]
    [InlineData("name at least one database to merge", "merge")]
    [InlineData("list reads one database, got 2", "list", "a.db", "b.db")]
    public void A_bad_argument_of_lab_results_exits_2_and_names_it(string message, params string[] args)
    {
        AssertBadArguments(Lab(["results", .. args]), message, "usage: lab results");
    }

    [Theory]
    [InlineData("results")]
    [InlineData("results", "--help")]
    [InlineData("results", "csv", "--help")]
    public void Lab_results_help_prints_the_usage_and_exits_0(params string[] args)
    {
        var result = Lab(args);
        Assert.True(result.Code == 0, result.ToString());
        Assert.Contains("usage: lab results list", result.Output);
    }

    [Fact]
    public void Lab_results_csv_reads_the_database_it_is_given()
    {
        string folder = Scratch();
        string other = ResultsDatabase(folder, "cli-other-experiment", configHash: "feedface");

        var csv = Lab("results", "csv", other);
        Assert.True(csv.Code == 0, csv.ToString());
        Assert.Contains("cli-other-experiment", csv.Output);
        Assert.Contains("feedface", csv.Output);
        Assert.Contains("loss", csv.Output.Split('\n')[0]);   // the final metric's column

        var list = Lab("results", "list", other);
        Assert.True(list.Code == 0, list.ToString());
        Assert.Contains("cli-other-experiment", list.Output);

        var viaOption = Lab("results", "csv", "--db", other, "--metrics");
        Assert.True(viaOption.Code == 0, viaOption.ToString());
        Assert.Contains("cli-other-experiment", viaOption.Output);
    }

    [Fact]
    public void Lab_results_csv_out_writes_the_file_and_refuses_to_overwrite_the_database()
    {
        string folder = Scratch();
        string database = ResultsDatabase(folder, "cli-out");
        string file = Path.Combine(folder, "runs.csv");

        var written = Lab("results", "csv", database, "--out", file);
        Assert.True(written.Code == 0, written.ToString());
        Assert.Contains("cli-out", File.ReadAllText(file));

        long size = new FileInfo(database).Length;
        AssertBadArguments(Lab("results", "csv", database, "--out", database), "is the database being read", "usage: lab results");
        Assert.Equal(size, new FileInfo(database).Length);
        AssertBadArguments(Lab("results", "csv", database, "--out", folder), "is a folder", "usage: lab results");
        AssertBadArguments(Lab("results", "csv", database, "--out", Path.Combine(folder, "no", "such", "x.csv")), "there is no folder", "usage: lab results");
    }

    [Fact]
    public void A_database_that_does_not_exist_is_refused_by_name_and_not_created()
    {
        string missing = Path.Combine(Scratch(), "missing.db");
        AssertBadArguments(Lab("results", "csv", missing), $"{missing}: there is no such file", "usage: lab results");
        AssertBadArguments(Lab("results", "list", "--db", missing), $"{missing}: there is no such file", "usage: lab results");
        Assert.False(File.Exists(missing));
    }

    [Fact]
    public void A_file_that_is_not_a_results_database_is_refused_by_name()
    {
        string folder = Scratch();
        string text = Path.Combine(folder, "notes.db");
        File.WriteAllText(text, "not a database at all");
        AssertBadArguments(Lab("results", "list", text), "is not an SQLite database", "usage: lab results");
        AssertBadArguments(Lab("results", "list", folder), "is a folder", "usage: lab results");
        Assert.Equal("not a database at all", File.ReadAllText(text));
    }

    [Fact]
    public void Merge_checks_every_database_before_merging_any()
    {
        string folder = Scratch();
        string shard = ResultsDatabase(folder, "cli-shard");
        string target = Path.Combine(folder, "merged.db");

        AssertBadArguments(Lab("results", "merge", shard, Path.Combine(folder, "typo.db"), "--db", target), "typo.db: there is no such file", "usage: lab results");
        Assert.False(File.Exists(target), "nothing may be merged when one of the databases is missing");
        AssertBadArguments(Lab("results", "merge", shard, "--db", shard), "cannot merge into itself", "usage: lab results");

        var merged = Lab("results", "merge", shard, "--db", target);
        Assert.True(merged.Code == 0, merged.ToString());
        Assert.Contains("1 runs copied", merged.Output);
        Assert.Contains("cli-shard", Lab("results", "list", target).Output);
    }

    [Fact]
    public void Merge_reads_a_folder_of_shards_and_not_in_leaves_out_the_runs_they_already_have()
    {
        // The GPU run's path: the committed shards merged into a working store, new runs trained there, then only the
        // new runs exported as the next shard.
        string folder = Scratch();
        string committed = Directory.CreateDirectory(Path.Combine(folder, "paper")).FullName;
        ResultsDatabase(committed, "shard-a", "c0ffee");
        ResultsDatabase(committed, "shard-b", "c0ffee");
        string work = Path.Combine(folder, "work.db");
        var merged = Lab("results", "merge", committed, "--db", work);
        Assert.True(merged.Code == 0, merged.ToString());
        Assert.Contains("shard-a.db: 1 runs copied", merged.Output);
        Assert.Contains("shard-b.db: 1 runs copied", merged.Output);
        using (var store = new ResultsStore(work))
        {
            long id = store.TryStartRun("shard-a", "{\"lr\":0.02}", "beef", seed: 7) ?? throw new InvalidOperationException("run not started");
            store.FinishRun(id, RunStatus.Done, finalMetrics: new Dictionary<string, double> { ["loss"] = 0.5 }, lastPoints: [(10, "loss", 0.5)]);
        }

        string next = Path.Combine(folder, "next.db");
        var exported = Lab("results", "merge", work, "--db", next, "--not-in", committed);
        Assert.True(exported.Code == 0, exported.ToString());
        Assert.Contains("1 runs copied", exported.Output);
        using (var shard = new ResultsStore(next))
            Assert.Equal("beef", Assert.Single(shard.Runs()).ConfigHash);
        // A --not-in that does not exist and a folder without databases are refused; the folder and the new shard hold all three runs.
        AssertBadArguments(Lab("results", "merge", work, "--db", next, "--not-in", Path.Combine(folder, "nowhere")), "nowhere: there is no such file", "usage: lab results");
        AssertBadArguments(Lab("results", "merge", Scratch(), "--db", next), "is a folder without results databases", "usage: lab results");
        var all = Lab("results", "merge", committed, next, "--db", Path.Combine(folder, "all.db"));
        Assert.True(all.Code == 0, all.ToString());
        using (var everything = new ResultsStore(Path.Combine(folder, "all.db")))
            Assert.Equal(3, everything.Runs().Count);
    }

    [Fact]
    public void An_experiment_that_matches_no_run_is_said_with_the_experiments_there_are()
    {
        string database = ResultsDatabase(Scratch(), "cli-known");
        var result = Lab("results", "list", database, "--experiment", "cli-knwon");
        Assert.True(result.Code == 0, result.ToString());
        Assert.Contains("no runs of experiment 'cli-knwon'", result.Error);
        Assert.Contains("cli-known", result.Error);
    }

    // ---- lab pretrain ----

    [Theory]
    [InlineData("--profile needs a value", "--profile")]
    [InlineData("unknown profile 'huge'; use one of quick, paper, tiny", "--profile", "huge")]
    [InlineData("unknown profile 'huge'", "--profile=huge")]
    [InlineData("unknown argument 'quick'", "quick")]
    [InlineData("unknown option '--steps'", "--steps", "5")]
    [InlineData("--profile is given twice", "--profile", "tiny", "--profile", "quick")]
    public void A_bad_argument_of_lab_pretrain_exits_2_and_names_it(string message, params string[] args)
    {
        AssertBadArguments(Lab(["pretrain", .. args]), message, "usage: lab pretrain");
    }

    [Fact]
    public void Lab_pretrain_help_prints_the_usage_and_exits_0()
    {
        var result = Lab("pretrain", "--help");
        Assert.True(result.Code == 0, result.ToString());
        Assert.Contains("usage: lab pretrain", result.Output);
    }

    // ---- lab torch ----

    [Theory]
    [InlineData("unknown argument 'cuda'", "cuda")]
    [InlineData("unknown option '--device'", "--device", "cuda")]
    public void A_bad_argument_of_lab_torch_exits_2_and_names_it(string message, params string[] args)
    {
        AssertBadArguments(Lab(["torch", .. args]), message, "usage: lab torch");
    }

    [Fact]
    public void Lab_torch_loads_the_native_library_and_checks_a_product_on_the_cpu()
    {
        var result = Lab("torch");
        Assert.True(result.Code == 0, result.ToString());
        Assert.Contains("libLibTorchSharp: ", result.Output);
        Assert.Contains("cpu: a 64 x 64 float32 matrix product", result.Output);
    }

    [Theory]
    [InlineData("torch")]
    [InlineData("pretrain", "--profile", "tiny")]
    public void A_command_whose_native_library_does_not_exist_fails_naming_it_without_a_stack_trace(params string[] args)
    {
        // The GPU script tries TorchSharp's prebuilt library first and builds one from source when `lab torch` fails.
        var start = Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "lab.dll"), .. args], Scratch(),
                          environment: new() { ["LORALAB_LIBTORCHSHARP"] = "/no/such/libLibTorchSharp.so" });
        Assert.True(start.Code == 1, start.ToString());
        Assert.Contains("/no/such/libLibTorchSharp.so", start.Error);
        Assert.DoesNotContain("   at ", start.All);     // a message, not a stack trace
    }

    [Fact]
    public void Lab_torch_require_cuda_exits_3_where_there_is_no_gpu()
    {
        var result = Lab("torch", "--require-cuda");
        if (result.Output.Contains("CUDA: not available")) Assert.True(result.Code == 3, result.ToString());
        else Assert.True(result.Code == 0, result.ToString());
    }

    // ---- lab sweep (the rest, in process: SweepCommandTests) ----

    [Theory]
    [InlineData("unknown option '--gpus'", "submit", "NB", "--slurm", "--gpus", "1")]
    [InlineData("--shards wants a whole number >= 1, got 'many'", "submit", "NB", "--slurm", "--shards", "many")]
    [InlineData("'--dry-run' is an option of lab sweep submit, not of status", "status", "RUN", "--dry-run")]
    [InlineData("there is no run folder at", "resubmit", "/no/such/run")]
    public void A_bad_argument_of_lab_sweep_exits_2_and_names_it(string message, params string[] args)
    {
        string notebook = Path.Combine(Root, "tests", "notebooks", "sharded-sweep.ipynb");
        var result = Lab(["sweep", .. args.Select(a => a == "NB" ? notebook : a == "RUN" ? Scratch() : a)]);
        AssertBadArguments(result, message, "usage: lab sweep");
    }

    // ---- the lab script: what it checks before installing or building anything ----

    [Theory]
    [InlineData("./lab kernel install: unknown argument '--user'", "kernel", "install", "--user")]
    [InlineData("./lab kernel uninstall: unknown argument 'extra'", "kernel", "uninstall", "--sys-prefix", "extra")]
    [InlineData("./lab kernel: unknown action 'add'", "kernel", "add")]
    [InlineData("./lab kernel: name an action", "kernel")]
    [InlineData("not 'LoraLab.Cli'", "build", "LoraLab.Cli")]
    [InlineData("./lab test takes one filter expression, got 2", "test", "FullyQualifiedName~A", "FullyQualifiedName~B")]
    [InlineData("not the option '--no-build'", "test", "--no-build")]
    [InlineData("./lab setup takes no arguments, got: now", "setup", "now")]
    [InlineData("./lab gpu-pack takes no arguments", "gpu-pack", "small")]
    [InlineData("unknown command 'frobnicate'", "frobnicate")]
    public void The_lab_script_refuses_bad_arguments_with_exit_2_before_doing_anything(string message, params string[] args)
    {
        var result = Start("bash", [Path.Combine(Root, "lab"), .. args], Scratch(), TimeSpan.FromSeconds(30));
        Assert.True(result.Code == 2, result.ToString());
        Assert.Contains(message, result.Error);
        Assert.DoesNotContain("building", result.Error);
    }
}
