namespace LoraLab.Data.Sweeps;

/// <summary>
/// Where a notebook's sweep writes its one line per run (<see cref="SweepOptions.Log"/>): data/logs/EXPERIMENT.log in
/// the repository, appended to, flushed after every line so that <c>tail -f</c> follows a long sweep.
/// </summary>
public static class SweepLog
{
    public static StreamWriter Open(string experiment, string? folder = null)
    {
        if (string.IsNullOrWhiteSpace(experiment) || experiment.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"'{experiment}' cannot name a log file", nameof(experiment));
        folder ??= Path.Combine(DataRoot.RepositoryRoot(), "data", "logs");
        Directory.CreateDirectory(folder);
        var writer = new StreamWriter(Path.Combine(folder, experiment + ".log"), append: true) { AutoFlush = true };
        writer.WriteLine($"--- {DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss zzz} pid {Environment.ProcessId}");
        return writer;
    }

    /// <summary>The path a log of this experiment has (whether or not it exists yet).</summary>
    public static string PathOf(string experiment, string? folder = null) =>
        Path.Combine(folder ?? Path.Combine(DataRoot.RepositoryRoot(), "data", "logs"), experiment + ".log");
}
