using LoraLab.BaseModels;
using LoraLab.Data;
using LoraLab.Data.Tokenization;
using LoraLab.Training;

namespace LoraLab.Experiments;

/// <summary>
/// What the sweep tasks of one process share: where the corpora and the cache are, and each base model, loaded (or
/// built) once per process, so that a process running notebook 02's and notebook 03's runs holds one copy of a base.
/// </summary>
public static class TaskBases
{
    /// <summary>Where the cache of base models (and of tokenizers and token shards) is, for this process and the sweep's
    /// workers (which inherit the environment); unset, the repository's data/cache. The corpora come from
    /// DataRoot.Default() (LORALAB_DATA_ROOT, else the repository's data/node_modules).</summary>
    public const string CacheVariable = "LORALAB_CACHE_DIR";

    private static readonly object gate = new();
    private static readonly Dictionary<string, PretrainedBase> bases = new();

    /// <summary>The corpora and the cache folder this process reads (see <see cref="CacheVariable"/>).</summary>
    public static (DataRoot corpora, string cache) Sources =>
        (DataRoot.Default(), Environment.GetEnvironmentVariable(CacheVariable) is { Length: > 0 } cache ? cache : TokenShardCache.DefaultDirectory());

    private static readonly Dictionary<string, CodeSplits> codes = new();

    /// <summary>The code domain (<see cref="CodeSplits"/>: lodash split by file, 80/10/10) encoded with the tokenizer of a
    /// profile's base, once per process: notebooks 01, 03 and 04 read the same split.</summary>
    public static CodeSplits Code(string profile)
    {
        var baseModel = BaseModel(profile);
        var (corpora, cache) = Sources;
        lock (gate)
        {
            string key = $"{corpora}|{cache}|{profile}";
            if (!codes.TryGetValue(key, out var code))
                codes[key] = code = CodeSplits.Encode(corpora, baseModel.Tokenizer);
            return code;
        }
    }

    /// <summary>The base model of a profile, refused when its cache key is not <paramref name="expectedKey"/>: a config
    /// names the base it was made for, and a run on another base (the profile, its corpora or the cache changed since
    /// the configs were made) must not land in the store beside the others.</summary>
    public static PretrainedBase BaseModel(string profile, string expectedKey)
    {
        var baseModel = BaseModel(profile);
        if (baseModel.Report.Key != expectedKey)
            throw new InvalidOperationException($"the config's base model is '{profile}' with cache key {expectedKey}, but the cached '{profile}' base " +
                                                $"here has key {baseModel.Report.Key} (in {baseModel.Directory}): the profile, its corpora or the cache " +
                                                "changed since the sweep's configs were made");
        return baseModel;
    }

    /// <summary>The base model of a profile (on the GPU where there is one), loaded (or built) once per process.</summary>
    public static PretrainedBase BaseModel(string profile)
    {
        var (corpora, cache) = Sources;
        lock (gate)
        {
            string key = $"{corpora}|{cache}|{profile}";
            if (!bases.TryGetValue(key, out var model))
                bases[key] = model = PretrainedBase.LoadOrBuild(BaseModelProfile.Named(profile), corpora, cache);
            return model;
        }
    }
}
