using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LoraLab.Data.Results;

namespace LoraLab.Cli.Sweeps;

/// <summary>
/// `lab sweep`: a notebook's sweep as a Slurm job array. submit writes the run folder and submits the array and its
/// merge job; status reads squeue and the shard databases; resubmit reruns only the shards that did not finish.
/// </summary>
public static partial class SweepCommand
{
    public const string Usage = """
        usage: lab sweep submit NOTEBOOK --slurm [--profile quick|paper|ci] [--shards N] [--partition P] [--gres gpu:1]
                                [--time HH:MM:SS] [--cpus-per-task N] [--sbatch-arg ARG]... [--param NAME=VALUE]...
                                [--store PATH] [--run-dir DIR] [--lab COMMAND] [--dry-run]
               lab sweep status RUN
               lab sweep resubmit RUN [--dry-run]
        submit splits the notebook's sweep into N shards (a job array: task i runs `lab run NOTEBOOK --param shard=i/N`
        into RUN/shards/shard-i.db), then a merge job folds the shards into the store (default data/results.db) and
        renders the report into RUN/report. RUN defaults to runs/sweeps/NOTEBOOK-TIMESTAMP. Options take their value as
        the next word or after '=' (--sbatch-arg=--qos=long); only --param and --sbatch-arg may be repeated.
        exit codes: 0 ok (a dry run too), 1 failed (sbatch, squeue or scancel failed or is missing, a notebook or
                    sweep.json that cannot be read), 2 bad arguments (an unknown verb or option, a missing or malformed
                    value, a notebook or RUN folder that does not exist or is not one; nothing was submitted)
        """;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            output.WriteLine(Usage);
            return 0;
        }
        try
        {
            var options = SweepArguments.Parse(args);
            if (options.Help)
            {
                output.WriteLine(Usage);
                return CommandExitCodes.Ok;
            }
            return options.Verb switch
            {
                "submit" => Submit(options, output),
                "status" => Status(SweepPlan.Load(options.Single("RUN")), output),
                "resubmit" => Resubmit(SweepPlan.Load(options.Single("RUN")), options.DryRun, output),
                _ => throw new ArgumentException($"unknown verb '{options.Verb}'"),   // SweepArguments.Parse refuses it first
            };
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"lab sweep: {e.Message}\n{Usage}");
            return CommandExitCodes.BadArguments;
        }
        catch (Exception e) when (e is SlurmException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            error.WriteLine($"lab sweep: {e.Message}");
            return CommandExitCodes.Failed;
        }
    }

    private static int Submit(SweepArguments options, TextWriter output)
    {
        if (!options.Slurm)
            throw new ArgumentException("submit needs --slurm: Slurm is the scheduler lab sweep submits to");
        string notebook = Path.GetFullPath(options.Single("NOTEBOOK"));
        RequireShardKnob(notebook);
        string root = LoraLab.Data.DataRoot.RepositoryRoot();
        string stamp = DateTimeOffset.Now.ToString("yyyyMMdd-HHmmss");
        var plan = new SweepPlan(
            Notebook: notebook,
            Profile: options.Value("profile") ?? "quick",
            ShardCount: options.Int("shards", 4, minimum: 1),
            Params: options.Params,
            StorePath: CheckedStore(options.Value("store") ?? Path.Combine(root, "data", "results.db")),
            RunDirectory: CheckedRunDirectory(options.Value("run-dir") ?? Path.Combine(root, "runs", "sweeps", $"{Path.GetFileNameWithoutExtension(notebook)}-{stamp}")),
            RepositoryRoot: root,
            LabCommand: options.Value("lab") ?? ThisLab(),
            Resources: new SlurmResources(options.Value("partition"), options.Value("gres"), CheckedTime(options.Value("time")),
                options.Int("cpus-per-task", 2, minimum: 1), options.SbatchArgs),
            Submissions: []);
        if (File.Exists(Path.Combine(plan.RunDirectory, SweepPlan.FileName)))
            throw new ArgumentException($"{plan.RunDirectory} already holds a sweep: use lab sweep resubmit, or another --run-dir");
        return SubmitShards(plan, Enumerable.Range(0, plan.ShardCount).ToList(), options.DryRun, output);
    }

    private static int Resubmit(SweepPlan plan, bool dryRun, TextWriter output)
    {
        var queued = QueuedShards(plan);
        var rerun = Enumerable.Range(0, plan.ShardCount).Where(s => plan.ShardExitCode(s) != 0 && !queued.ContainsKey(s)).ToList();
        if (rerun.Count == 0)
        {
            output.WriteLine(queued.Count > 0 ? $"nothing to resubmit: shards {Slurm.CompactRange(queued.Keys)} are still queued or running"
                                              : "nothing to resubmit: every shard finished");
            return 0;
        }
        // The last merge job waits for the old array, would find these shards unfinished and fail: replace it.
        if (!dryRun && plan.Submissions.LastOrDefault() is { } last && Slurm.IsQueued(last.MergeJobId))
            Slurm.Cancel(last.MergeJobId);
        return SubmitShards(plan, rerun, dryRun, output);
    }

    private static int SubmitShards(SweepPlan plan, IReadOnlyList<int> shards, bool dryRun, TextWriter output)
    {
        string array = $"--array={Slurm.CompactRange(shards)}";
        // The merge waits for every array that still has tasks of this sweep, not just the new one.
        var waitFor = plan.Submissions.Where(s => Slurm.IsQueuedArray(s.ArrayJobId)).Select(s => s.ArrayJobId).ToList();
        if (dryRun)
        {
            output.WriteLine($"# dry run: would write {plan.ShardScript} and {plan.MergeScript}, then run");
            output.WriteLine($"#   sbatch {array} {plan.ShardScript}");
            output.WriteLine($"#   sbatch --dependency=afterany:<array job>{string.Concat(waitFor.Select(id => ":" + id))} {plan.MergeScript}");
            output.WriteLine($"# ---- {plan.ShardScript}\n{SlurmScripts.Shards(plan)}# ---- {plan.MergeScript}\n{SlurmScripts.Merge(plan)}");
            return 0;
        }
        Directory.CreateDirectory(plan.ShardsDirectory);
        Directory.CreateDirectory(plan.LogsDirectory);
        File.WriteAllText(plan.ShardScript, SlurmScripts.Shards(plan));
        File.WriteAllText(plan.MergeScript, SlurmScripts.Merge(plan));
        File.Delete(plan.MergeStatusFile);
        plan.Save();                                   // the folder is a sweep from here on, even if sbatch fails
        string arrayJob = Slurm.Submit(plan.ShardScript, array);
        string dependency = "--dependency=afterany:" + string.Join(':', waitFor.Append(arrayJob));
        string mergeJob = Slurm.Submit(plan.MergeScript, dependency, "--kill-on-invalid-dep=yes");
        plan = plan with { Submissions = [.. plan.Submissions, new SweepSubmission(arrayJob, shards, mergeJob, DateTimeOffset.Now)] };
        plan.Save();
        output.WriteLine($"submitted {plan.Name}: array job {arrayJob} (shards {Slurm.CompactRange(shards)} of {plan.ShardCount}), merge job {mergeJob}");
        output.WriteLine($"run folder {plan.RunDirectory}; follow it with: lab sweep status {plan.RunDirectory}");
        return 0;
    }

    private static int Status(SweepPlan plan, TextWriter output)
    {
        output.WriteLine($"{plan.Name}: profile {plan.Profile}, {plan.ShardCount} shards, store {plan.StorePath}");
        foreach (var s in plan.Submissions)
            output.WriteLine($"  submitted {s.SubmittedAt:yyyy-MM-dd HH:mm:ss}: array job {s.ArrayJobId} (shards {Slurm.CompactRange(s.Shards)}), merge job {s.MergeJobId}");
        var queued = QueuedShards(plan);
        foreach (int shard in Enumerable.Range(0, plan.ShardCount))
        {
            string state = plan.ShardExitCode(shard) is { } code ? (code == 0 ? "finished" : $"failed (exit {code})")
                : queued.TryGetValue(shard, out var task) ? task.State.ToLowerInvariant() + (task.Reason is "" or "None" ? "" : $" ({task.Reason})")
                : "not finished and not queued (killed or lost): lab sweep resubmit";
            output.WriteLine($"  shard {shard}: {state,-28} {RunCounts(plan.ShardDatabase(shard))}");
        }
        string merge = File.Exists(plan.MergeStatusFile) ? File.ReadAllText(plan.MergeStatusFile).Trim()
            : plan.Submissions.LastOrDefault() is { } last && Slurm.IsQueued(last.MergeJobId) ? "waiting for the shards" : "not run";
        output.WriteLine($"  merge: {merge}{(merge == "done" ? $"; report in {plan.ReportDirectory}" : "")}");
        return 0;
    }

    /// <summary>The latest queued task of each shard, over every array of the sweep.</summary>
    private static Dictionary<int, QueuedTask> QueuedShards(SweepPlan plan)
    {
        var queued = new Dictionary<int, QueuedTask>();
        foreach (var submission in plan.Submissions)
            foreach (var task in Slurm.Queued(submission.ArrayJobId))
                queued[task.Shard] = task;
        return queued;
    }

    private static string RunCounts(string database)
    {
        if (!File.Exists(database)) return "no runs yet";
        using var store = new ResultsStore(database);
        var counts = store.Runs().GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Count());
        return $"runs: {counts.GetValueOrDefault(RunStatus.Done)} done, {counts.GetValueOrDefault(RunStatus.Diverged)} diverged, " +
               $"{counts.GetValueOrDefault(RunStatus.Failed)} failed, {counts.GetValueOrDefault(RunStatus.Running)} running";
    }

    /// <summary>A notebook whose parameters cell has no `shard` knob would run its whole sweep in every task.</summary>
    private static void RequireShardKnob(string notebook)
    {
        if (!File.Exists(notebook)) throw new ArgumentException($"no notebook at '{notebook}'");
        JsonNode? document;
        try { document = JsonNode.Parse(File.ReadAllText(notebook)); }
        catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{notebook} is not valid JSON: {e.Message}"); }
        var parameters = document?["cells"]?.AsArray().FirstOrDefault(cell =>
            cell?["metadata"]?["tags"]?.AsArray().Any(tag => tag?.GetValue<string>() == "parameters") == true);
        string source = parameters?["source"] switch
        {
            JsonArray lines => string.Concat(lines.Select(line => line?.GetValue<string>())),
            JsonValue text => text.GetValue<string>(),
            _ => "",
        };
        if (!ShardDeclaration().IsMatch(source))
            throw new ArgumentException($"{notebook} declares no `shard` knob in its parameters cell, so its sweep cannot be split " +
                                        "(see docs/writing-a-notebook.md: `var shard = \"\";`)");
    }

    /// <summary>--store: the database the merge job folds the shards into; it may not exist yet, but what is there
    /// must be a results database (found now, not by the merge job hours later).</summary>
    private static string CheckedStore(string store)
    {
        string full = Path.GetFullPath(store);
        if (Directory.Exists(full)) throw new ArgumentException($"--store {store} is a folder; name the database file (e.g. {Path.Combine(store, "results.db")})");
        if (File.Exists(full) && new FileInfo(full).Length > 0) ResultsCommand.RequireResultsDatabase(full, "--store");
        return full;
    }

    private static string CheckedRunDirectory(string runDirectory)
    {
        string full = Path.GetFullPath(runDirectory);
        if (File.Exists(full)) throw new ArgumentException($"--run-dir {runDirectory} is a file, not a folder");
        return full;
    }

    private static string? CheckedTime(string? time) =>
        time is null || TimeLimit().IsMatch(time) ? time
            : throw new ArgumentException($"--time '{time}' is not a Slurm time limit (MM, HH:MM:SS or D-HH:MM:SS)");

    /// <summary>How to start this same `lab`: `dotnet lab.dll` for a framework-dependent build, else the executable.</summary>
    private static string ThisLab()
    {
        string process = Environment.ProcessPath ?? "dotnet";
        bool viaDotnet = Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        string entry = Assembly.GetEntryAssembly()?.Location ?? "";
        return viaDotnet && entry != "" ? $"{SlurmScripts.Quote(process)} {SlurmScripts.Quote(entry)}" : SlurmScripts.Quote(process);
    }

    [GeneratedRegex(@"\bvar\s+shard\s*=|\bstring\s+shard\s*=")]
    private static partial Regex ShardDeclaration();

    [GeneratedRegex(@"^(\d+-)?\d+(:\d{1,2}){0,2}$")]
    private static partial Regex TimeLimit();
}
