using LoraLab.Data;
using LoraLab.Data.Results;
using LoraLab.Notebooks.Runner;
using TorchSharp;

namespace LoraLab.Cli;

/// <summary>
/// What `lab run --profile paper` settles before a notebook runs. The paper profile's runs are made on a GPU and come
/// back as shards committed in data/results/paper/; here they are merged into data/results/paper.db (adding what is
/// new, never removing), which the notebooks then use as their default store. On a machine without a GPU the
/// notebooks render only: they draw every figure from those runs, train nothing and say which runs are missing —
/// unless --train asks for hours of CPU training.
/// </summary>
public static class PaperProfile
{
    public static string ShardsFolder(string root) => Path.Combine(root, "data", "results", "paper");
    public static string StorePath(string root) => Path.Combine(root, "data", "results", "paper.db");

    /// <summary>The options to run with: unchanged for other profiles; for the paper profile, its store (unless one is
    /// named) and, without a GPU and without --train, render-only. Says what it did on <paramref name="output"/>.</summary>
    public static RunOptions Prepare(RunOptions options, TextWriter output, Func<bool>? hasGpu = null, string? root = null)
    {
        if (options.Profile != "paper") return options;
        root ??= DataRoot.RepositoryRoot();
        bool storeNamed = options.Parameters.Any(p => p.Key == "store_path" && p.Value.Length > 0)
                          || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ResultsStore.DefaultPathVariable));
        if (!storeNamed)
        {
            string store = StorePath(root);
            output.WriteLine($"paper profile: {MergeShards(ShardsFolder(root), store)}");
            options = options with { Environment = new Dictionary<string, string>(options.Environment) { [ResultsStore.DefaultPathVariable] = store } };
        }
        if (options.RenderOnly || options.Train || (hasGpu ?? HasGpu)()) return options;
        output.WriteLine("paper profile on a machine without a GPU: render-only. The notebooks draw from the committed runs, train " +
                         "nothing and say which runs are missing (tests/gpu/README.md runs them on a GPU; --train trains them here, for hours).");
        return options with { RenderOnly = true };
    }

    /// <summary>Merges every shard of the folder into the store; a sentence saying what the store now holds.</summary>
    public static string MergeShards(string shards, string store)
    {
        var files = Directory.Exists(shards) ? ResultsStore.Databases([shards]) : [];
        int copied = 0;
        try
        {
            using var target = new ResultsStore(store);
            foreach (string shard in files) copied += target.MergeFrom(shard).RunsCopied;
            int runs = target.Runs().Count;
            return $"{runs} runs in {Path.GetRelativePath(Directory.GetCurrentDirectory(), store)} " +
                   $"({files.Count} committed shard{(files.Count == 1 ? "" : "s")} in {Path.GetRelativePath(Directory.GetCurrentDirectory(), shards)}, {copied} runs new to it)";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            throw new ArgumentException($"the paper profile's store {store} could not take the committed shards of {shards}: {e.Message}");
        }
    }

    // libtorch is loaded only for the paper profile, the one profile whose behaviour depends on the answer. A libtorch
    // that cannot load has no GPU to offer (the notebooks will then say why it does not load).
    private static bool HasGpu()
    {
        try
        {
            TorchRuntime.EnsureLoaded();
            return torch.cuda.is_available();
        }
        catch (TorchRuntimeException) { return false; }
    }
}
