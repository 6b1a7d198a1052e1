using System.Text.Json;

namespace LoraLab.Cli.Sweeps;

/// <summary>Resources asked of Slurm for every task of a sweep (and for its merge job, which renders the report).</summary>
public sealed record SlurmResources(string? Partition, string? Gres, string? Time, int CpusPerTask, IReadOnlyList<string> ExtraArgs);

/// <summary>One sbatch submission of a sweep: the array job (which shards) and the merge job that waits for it.</summary>
public sealed record SweepSubmission(string ArrayJobId, IReadOnlyList<int> Shards, string MergeJobId, DateTimeOffset SubmittedAt);

/// <summary>
/// A notebook's sweep on a cluster, as kept in its run folder (sweep.json): what to run, how it is split, where the
/// shard databases and the merged store are, and every submission made so far. Shard i of N writes only
/// shards/shard-i.db (no SQLite shared over a network file system); the merge job is the only writer of the store.
/// </summary>
public sealed record SweepPlan(
    string Notebook,
    string Profile,
    int ShardCount,
    IReadOnlyList<string> Params,
    string StorePath,
    string RunDirectory,
    string RepositoryRoot,
    string LabCommand,
    SlurmResources Resources,
    IReadOnlyList<SweepSubmission> Submissions)
{
    public const string FileName = "sweep.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string Name => Path.GetFileNameWithoutExtension(Notebook);
    public string ShardsDirectory => Path.Combine(RunDirectory, "shards");
    public string LogsDirectory => Path.Combine(RunDirectory, "logs");
    public string ReportDirectory => Path.Combine(RunDirectory, "report");
    public string ShardScript => Path.Combine(RunDirectory, "shards.sbatch");
    public string MergeScript => Path.Combine(RunDirectory, "merge.sbatch");
    public string MergeStatusFile => Path.Combine(RunDirectory, "merge.status");

    public string ShardDatabase(int shard) => Path.Combine(ShardsDirectory, $"shard-{shard}.db");
    public string ShardExitFile(int shard) => Path.Combine(ShardsDirectory, $"shard-{shard}.exit");

    /// <summary>The exit code a shard's task recorded when it ended, or null while it has not ended (or was killed).</summary>
    public int? ShardExitCode(int shard) =>
        File.Exists(ShardExitFile(shard)) && int.TryParse(File.ReadAllText(ShardExitFile(shard)).Trim(), out int code) ? code : null;

    public void Save()
    {
        Directory.CreateDirectory(RunDirectory);
        string temporary = Path.Combine(RunDirectory, FileName + ".tmp");
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, Path.Combine(RunDirectory, FileName), overwrite: true);
    }

    /// <summary>
    /// Reads RUN/sweep.json; RUN may be the folder or the file itself. A RUN that does not exist or is not a sweep's run
    /// folder is an ArgumentException (a bad argument); a sweep.json that cannot be read as a sweep is InvalidDataException.
    /// </summary>
    public static SweepPlan Load(string run)
    {
        if (!Directory.Exists(run) && !File.Exists(run))
            throw new ArgumentException($"there is no run folder at '{run}' (lab sweep submit prints the one it makes)");
        string file = Directory.Exists(run) ? Path.Combine(run, FileName) : run;
        if (!File.Exists(file))
            throw new ArgumentException($"'{run}' is not a sweep run folder: it has no {FileName} (lab sweep submit makes one)");
        SweepPlan? plan;
        try
        {
            plan = JsonSerializer.Deserialize<SweepPlan>(File.ReadAllText(file), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file} is not a valid sweep description: {e.Message}", e);
        }
        string? missing = plan switch
        {
            null => "anything",
            { Notebook: null } => nameof(Notebook),
            { Profile: null } => nameof(Profile),
            { ShardCount: < 1 } => nameof(ShardCount),
            { Params: null } => nameof(Params),
            { StorePath: null } => nameof(StorePath),
            { RunDirectory: null } => nameof(RunDirectory),
            { RepositoryRoot: null } => nameof(RepositoryRoot),
            { LabCommand: null } => nameof(LabCommand),
            { Resources: null or { ExtraArgs: null } } => nameof(Resources),
            { Submissions: null } => nameof(Submissions),
            _ => null,
        };
        if (missing is null && plan!.Submissions!.Any(s => s is null || s.ArrayJobId is null || s.MergeJobId is null || s.Shards is null))
            missing = "a complete submission";
        return missing is null ? plan! : throw new InvalidDataException($"{file} is not a valid sweep description: it lacks {missing}");
    }
}
