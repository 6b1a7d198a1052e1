using System.Diagnostics;

namespace LoraLab.Cli.Sweeps;

/// <summary>The state Slurm reports for one array task (squeue's %T: PENDING, RUNNING, COMPLETING, ...).</summary>
public sealed record QueuedTask(int Shard, string State, string Reason);

/// <summary>
/// The few Slurm commands a sweep needs, run as processes: sbatch to submit, squeue to see what is queued or running,
/// scancel to stop. SLURM_CONF and the rest of the environment pass through, so the same code talks to a real cluster
/// and to the one-node cluster of the tests.
/// </summary>
public static class Slurm
{
    /// <summary>Submits a script; returns the job id (sbatch --parsable prints "ID" or "ID;cluster").</summary>
    public static string Submit(string script, params string[] arguments)
    {
        var (code, output, error) = Run("sbatch", [.. arguments, "--parsable", script]);
        if (code != 0)
            throw new SlurmException($"sbatch {string.Join(' ', arguments)} {script} failed (exit {code}): {error.Trim()}");
        string id = output.Trim().Split(';')[0];
        if (id.Length == 0 || !id.All(char.IsDigit))
            throw new SlurmException($"sbatch printed no job id: '{output.Trim()}'");
        return id;
    }

    /// <summary>The array tasks of a job that Slurm still holds (pending or running); finished tasks are gone from squeue.</summary>
    public static IReadOnlyList<QueuedTask> Queued(string arrayJobId)
    {
        var (code, output, error) = Run("squeue", ["--noheader", "--array", "--jobs", arrayJobId, "--format=%i|%T|%r"]);
        // squeue exits non-zero for a job id it has already purged: nothing is queued.
        if (code != 0)
            return error.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase) ? []
                : throw new SlurmException($"squeue failed (exit {code}): {error.Trim()}");
        var tasks = new List<QueuedTask>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] fields = line.Split('|');
            // "12_3" is task 3 of array 12; a pending range shows as "12_[3-5]".
            string task = fields[0][(fields[0].IndexOf('_') + 1)..].Trim('[', ']');
            foreach (int shard in ExpandRange(task))
                tasks.Add(new QueuedTask(shard, fields.ElementAtOrDefault(1) ?? "", fields.ElementAtOrDefault(2) ?? ""));
        }
        return tasks;
    }

    /// <summary>True while Slurm still holds the job (pending, running or completing).</summary>
    public static bool IsQueued(string jobId)
    {
        var (code, output, _) = Run("squeue", ["--noheader", "--jobs", jobId, "--format=%T"]);
        return code == 0 && output.Trim().Length > 0;
    }

    /// <summary>True while any task of an array job is pending or running.</summary>
    public static bool IsQueuedArray(string arrayJobId) => Queued(arrayJobId).Count > 0;

    public static void Cancel(string jobId)
    {
        var (code, _, error) = Run("scancel", [jobId]);
        if (code != 0) throw new SlurmException($"scancel {jobId} failed (exit {code}): {error.Trim()}");
    }

    /// <summary>"0-2,5" → 0, 1, 2, 5 (Slurm's array syntax, also what sbatch --array takes).</summary>
    public static IEnumerable<int> ExpandRange(string text)
    {
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string range = part.Split('%')[0];      // "0-9%2" limits concurrency
            int dash = range.IndexOf('-');
            if (dash < 0) { if (int.TryParse(range, out int single)) yield return single; continue; }
            if (int.TryParse(range[..dash], out int low) && int.TryParse(range[(dash + 1)..], out int high))
                for (int i = low; i <= high; i++) yield return i;
        }
    }

    /// <summary>0, 1, 2, 5 → "0-2,5".</summary>
    public static string CompactRange(IEnumerable<int> shards)
    {
        var sorted = shards.Distinct().Order().ToList();
        var parts = new List<string>();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(i == j ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }
        return string.Join(',', parts);
    }

    private static (int code, string output, string error) Run(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new SlurmException($"{program} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SlurmException($"'{program}' is not on PATH ({e.Message}): lab sweep needs the Slurm client commands (sbatch, squeue, scancel)");
        }
        using (process)
        {
            var error = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output, error.Result);
        }
    }
}

/// <summary>A Slurm command failed or is missing; the message says which and why.</summary>
public sealed class SlurmException(string message) : Exception(message);
