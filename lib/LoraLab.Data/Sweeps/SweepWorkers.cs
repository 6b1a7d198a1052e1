using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using LoraLab.Data.Results;

namespace LoraLab.Data.Sweeps;

/// <summary>
/// The worker processes of a task sweep (<see cref="SweepRunner.Run{TTask, TConfig}"/>): each is <c>lab sweep-worker
/// JOB WORKER</c>, which reads the sweep from a job file, opens the same results store and trains the ensembles it can
/// claim, with libtorch's threads set so that the workers together use the machine's cores once.
/// </summary>
public static class SweepWorkers
{
    /// <summary>Names the command that starts <c>lab</c> (a path to lab.dll, or to a self-contained lab executable); unset,
    /// the repository's build output is used.</summary>
    public const string LabVariable = "LORALAB_LAB";

    /// <summary>What a worker needs to know: where the store is, which task and configs, and its share.</summary>
    public sealed record Job(string Store, string Experiment, string Task, string Config, List<string> Configs, List<int> Seeds,
                             string Shard, int EnsembleSize, string? Device, int Workers)
    {
        public string LogOf(int worker) => SweepLog.PathOf($"{Experiment}.worker{worker}");
    }

    /// <summary>The started workers of one sweep.</summary>
    public sealed class Started
    {
        private readonly List<(Process process, string log)> workers;
        private readonly string? jobFile;

        internal Started(List<(Process process, string log)> workers, string? jobFile = null) => (this.workers, this.jobFile) = (workers, jobFile);

        public IReadOnlyList<string> Logs => workers.Select(w => w.log).ToList();

        /// <summary>How many workers ended with a non-zero exit code.</summary>
        public int Failures { get; private set; }

        public void WaitForAll()
        {
            foreach (var (process, _) in workers)
            {
                process.WaitForExit();
                if (process.ExitCode != 0) Failures++;
                process.Dispose();
            }
            workers.Clear();
            if (jobFile is not null) File.Delete(jobFile);
        }
    }

    internal static readonly Started None = new(new());

    /// <summary>Whether workers can run this task: it must live in a library a worker can load (not in a notebook's
    /// own code), and the lab command must be found.</summary>
    public static bool CanStart(Type task, out string? why)
    {
        why = null;
        if (task.Assembly.IsDynamic || string.IsNullOrEmpty(task.Assembly.Location))
            why = $"{task.Name} is not in a library that a worker process can load";
        else if (LabCommand() is null)
            why = $"no lab command to start workers with (set {LabVariable}, or build lib/LoraLab.Cli)";
        return why is null;
    }

    /// <summary>How to start lab: ("dotnet", "path/lab.dll") or ("path/lab", null).</summary>
    internal static (string file, string? firstArgument)? LabCommand()
    {
        string? lab = Environment.GetEnvironmentVariable(LabVariable);
        if (string.IsNullOrWhiteSpace(lab))
        {
            try { lab = Path.Combine(DataRoot.RepositoryRoot(), "lib", "LoraLab.Cli", "bin", "Release", "net10.0", "lab.dll"); }
            catch (Exception e) when (e is InvalidOperationException or DirectoryNotFoundException) { return null; }
        }
        if (!File.Exists(lab)) return null;
        return lab.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ("dotnet", lab) : (lab, null);
    }

    /// <summary>Starts workers 1 … job.Workers − 1 (the calling process is worker 0).</summary>
    internal static Started Start(Job job, TextWriter log)
    {
        var (file, first) = LabCommand() ?? throw new InvalidOperationException("no lab command to start workers with");
        string jobFile = Path.Combine(Path.GetTempPath(), $"loralab-sweep-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        File.WriteAllText(jobFile, JsonSerializer.Serialize(job));
        // libtorch's threads: the cores shared out, unless the caller set a count for every process.
        string threads = Environment.GetEnvironmentVariable("LORALAB_THREADS") is { Length: > 0 } set
            ? set : Math.Max(1, Environment.ProcessorCount / job.Workers).ToString();
        var started = new List<(Process, string)>();
        for (int worker = 1; worker < job.Workers; worker++)
        {
            var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            if (first is not null) start.ArgumentList.Add(first);
            foreach (var argument in new[] { "sweep-worker", jobFile, worker.ToString() }) start.ArgumentList.Add(argument);
            start.Environment["LORALAB_THREADS"] = threads;
            var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
            // The worker writes its runs to its own log; what it prints (a crash, say) goes there too.
            string logPath = job.LogOf(worker);
            process.OutputDataReceived += (_, e) => Append(logPath, e.Data);
            process.ErrorDataReceived += (_, e) => Append(logPath, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            started.Add((process, logPath));
        }
        log.WriteLine($"[{job.Experiment}] started {started.Count} worker process(es) with {threads} libtorch thread(s) each; logs: {string.Join(", ", started.Select(s => s.Item2))}");
        return new Started(started, jobFile);
    }

    private static readonly object appendGate = new();

    private static void Append(string path, string? line)
    {
        if (line is null) return;
        lock (appendGate) File.AppendAllText(path, line + Environment.NewLine);
    }

    /// <summary><c>lab sweep-worker JOB WORKER</c>: trains the ensembles of the job it can claim. Exit code 0 when it ran
    /// to the end (failed runs are recorded in the store), 2 for bad arguments, 1 when it could not run at all.</summary>
    public static int Main(string[] args, TextWriter error)
    {
        if (args.Length != 2 || !File.Exists(args[0]) || !int.TryParse(args[1], out int worker) || worker < 0)
        {
            error.WriteLine("usage: lab sweep-worker JOB_FILE WORKER (started by a sweep, not by hand)");
            return 2;
        }
        try
        {
            var job = JsonSerializer.Deserialize<Job>(File.ReadAllText(args[0])) ?? throw new InvalidDataException($"{args[0]} is empty");
            var task = Type.GetType(job.Task, throwOnError: true)!;
            var config = Type.GetType(job.Config, throwOnError: true)!;
            using var store = new ResultsStore(job.Store);
            using var log = new StreamWriter(job.LogOf(worker), append: true) { AutoFlush = true };
            log.WriteLine($"--- {DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss zzz} worker {worker} of {job.Workers}, pid {Environment.ProcessId}");
            var runner = new SweepRunner(store, new SweepOptions { Shard = Shard.Parse(job.Shard), Log = log, Progress = log, Device = job.Device });
            typeof(SweepWorkers).GetMethod(nameof(Work), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(task, config).Invoke(null, new object[] { runner, store, job, worker, log });
            return 0;
        }
        catch (Exception e)
        {
            error.WriteLine($"lab sweep-worker: {(e is TargetInvocationException { InnerException: { } inner } ? inner : e)}");
            return 1;
        }
    }

    private static void Work<TTask, TConfig>(SweepRunner runner, ResultsStore store, Job job, int worker, TextWriter log) where TTask : ISweepTask<TConfig>
    {
        var configs = job.Configs.Select(CanonicalJson.Deserialize<TConfig>).ToList();
        var shard = Shard.Parse(job.Shard);
        var pending = SweepRunner.Grid(configs, job.Seeds)
            .Where(x => shard.Contains(job.Experiment, x.ConfigHash, x.Seed) && store.FinishedRun(job.Experiment, x.ConfigHash, x.Seed) is null);
        runner.TrainChunks<TTask, TConfig>(job.Experiment, SweepRunner.Chunks<TTask, TConfig>(pending, job.EnsembleSize, job.Workers), worker, job.Workers, log);
    }
}
