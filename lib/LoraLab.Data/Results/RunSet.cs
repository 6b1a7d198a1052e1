namespace LoraLab.Data.Results;

/// <summary>
/// The runs of some results databases, as a merge compares them: by uid (the same run, copied before), and for a
/// finished run by (experiment, config hash, seed) (the same cell of a grid, finished elsewhere). A GPU run merges the
/// committed shards into its working store, trains what they lack, and exports the runs that are not in this set of
/// the committed shards, so that no shard repeats another's runs.
/// </summary>
public sealed class RunSet
{
    private readonly HashSet<string> uids = new(StringComparer.Ordinal);
    private readonly HashSet<(string Experiment, string ConfigHash, int Seed)> finished = new();

    /// <summary>The runs of every database named (a results database, or a folder: each of its *.db files).</summary>
    public static RunSet Of(IEnumerable<string> databases)
    {
        var set = new RunSet();
        foreach (string path in ResultsStore.Databases(databases))
        {
            using var store = new ResultsStore(path);
            foreach (var run in store.Runs())
            {
                set.uids.Add(run.Uid);
                if (run.Status.IsFinal()) set.finished.Add((run.Experiment, run.ConfigHash, run.Seed));
            }
        }
        return set;
    }

    public int Count => uids.Count;

    public bool Contains(RunRecord run) =>
        uids.Contains(run.Uid) || (run.Status.IsFinal() && finished.Contains((run.Experiment, run.ConfigHash, run.Seed)));
}
