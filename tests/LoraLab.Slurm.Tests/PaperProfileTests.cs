using LoraLab.Cli;
using LoraLab.Data.Results;
using LoraLab.Notebooks.Runner;

namespace LoraLab.Slurm.Tests;

/// <summary>`lab run --profile paper`: the committed shards merged into the paper store, which the notebooks then use;
/// render-only on a machine without a GPU unless --train.</summary>
public sealed class PaperProfileTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("loralab-paper-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Shard(string name, params (string config, int seed)[] runs)
    {
        Directory.CreateDirectory(PaperProfile.ShardsFolder(_root));
        using var store = new ResultsStore(Path.Combine(PaperProfile.ShardsFolder(_root), name));
        foreach (var (config, seed) in runs)
        {
            long id = store.TryStartRun("02-learning-rates", $"{{\"c\":\"{config}\"}}", config, seed, "cuda:0", "abc")!.Value;
            store.FinishRun(id, LoraLab.Data.Results.RunStatus.Done, null, new Dictionary<string, double> { ["loss"] = seed }, []);
        }
    }

    private static RunOptions Paper(params string[] more) => RunCommand.Parse(["nb.ipynb", "--profile", "paper", .. more])!;

    [Fact]
    public void Without_a_GPU_the_paper_profile_renders_only_from_the_merged_committed_shards()
    {
        Shard("20261201-aaaa.db", ("x", 0), ("x", 1));
        Shard("20261202-bbbb.db", ("y", 0));
        var said = new StringWriter();

        var options = PaperProfile.Prepare(Paper(), said, hasGpu: () => false, root: _root);

        Assert.True(options.RenderOnly);
        string store = PaperProfile.StorePath(_root);
        Assert.Equal(store, options.Environment[ResultsStore.DefaultPathVariable]);
        using (var merged = new ResultsStore(store)) Assert.Equal(3, merged.Runs().Count);
        Assert.Contains("3 runs in", said.ToString());
        Assert.Contains("2 committed shards", said.ToString());
        Assert.Contains("render-only", said.ToString());

        // Again: the store keeps what it has (and what was trained into it), the shards add nothing twice.
        PaperProfile.Prepare(Paper(), TextWriter.Null, hasGpu: () => false, root: _root);
        using (var merged = new ResultsStore(store)) Assert.Equal(3, merged.Runs().Count);
    }

    [Fact]
    public void With_a_GPU_or_with_train_the_paper_profile_trains_and_a_named_store_is_left_alone()
    {
        Shard("20261201-aaaa.db", ("x", 0));
        Assert.False(PaperProfile.Prepare(Paper(), TextWriter.Null, hasGpu: () => true, root: _root).RenderOnly);
        Assert.False(PaperProfile.Prepare(Paper("--train"), TextWriter.Null, hasGpu: () => false, root: _root).RenderOnly);

        File.Delete(PaperProfile.StorePath(_root));
        var named = PaperProfile.Prepare(Paper("--param", "store_path=/tmp/mine.db"), TextWriter.Null, hasGpu: () => false, root: _root);
        Assert.True(named.RenderOnly);
        Assert.False(named.Environment.ContainsKey(ResultsStore.DefaultPathVariable));
        Assert.False(File.Exists(PaperProfile.StorePath(_root)), "a named store is used as it is: no merge");
    }

    [Fact]
    public void Other_profiles_are_not_touched()
    {
        var quick = RunCommand.Parse(["nb.ipynb", "--profile", "quick"])!;
        Assert.Same(quick, PaperProfile.Prepare(quick, TextWriter.Null, hasGpu: () => throw new InvalidOperationException("not asked"), root: _root));
    }

    [Fact]
    public void A_shard_that_is_not_a_database_is_a_clear_error()
    {
        Directory.CreateDirectory(PaperProfile.ShardsFolder(_root));
        File.WriteAllText(Path.Combine(PaperProfile.ShardsFolder(_root), "20261201-broken.db"), "not sqlite");
        var error = Assert.Throws<ArgumentException>(() => PaperProfile.Prepare(Paper(), TextWriter.Null, hasGpu: () => false, root: _root));
        Assert.Contains("could not take the committed shards", error.Message);
    }
}
