using System.Security.Cryptography;
using System.Text.Json;
using LoraLab.Data;

namespace LoraLab.BaseModels;

/// <summary>
/// The bases whose runs the repository keeps. Runs made on a GPU come back as shards (data/results/paper/), each made
/// on a base pretrained on that machine; so that every shard's runs share one base, the GPU run brings the base's report
/// back too, with the SHA-256 of its weights, to be committed as data/results/bases/NAME-KEY.json. A base pretrained
/// later under the same key whose weights differ (another libtorch, a nondeterministic kernel) is refused: its runs
/// would not be comparable with the committed ones. Without weights (render-only) the committed report is what a
/// notebook shows of the base.
/// </summary>
public static class CommittedBases
{
    /// <summary>Another folder of committed base reports (tests); unset: data/results/bases in the repository.</summary>
    public const string FolderVariable = "LORALAB_COMMITTED_BASES";

    public static string Folder => Environment.GetEnvironmentVariable(FolderVariable) is { Length: > 0 } folder
        ? folder
        : Path.Combine(DataRoot.RepositoryRoot(), "data", "results", "bases");

    public static string FileName(string profile, string key) => $"{profile}-{key}.json";

    /// <summary>The committed report of a base in <paramref name="folder"/>, or null when none is committed (or it is not
    /// valid JSON: said in the log).</summary>
    public static BaseModelReport? Find(string folder, string profile, string key, Action<string>? log = null)
    {
        string path = Path.Combine(folder, FileName(profile, key));
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<BaseModelReport>(File.ReadAllText(path)); }
        catch (JsonException e)
        {
            log?.Invoke($"The committed base report '{path}' is not valid JSON ({e.Message}); ignored.");
            return null;
        }
    }

    /// <summary>Refuses a base whose weights are not the committed base's: same profile and key, other weights.</summary>
    public static void Check(string folder, BaseModelReport committed, BaseModelReport here, string directory)
    {
        if (committed.WeightsSha256 is null || committed.WeightsSha256 == here.WeightsSha256) return;
        throw new InvalidOperationException(
            $"the '{here.Profile}' base model here (key {here.Key}, in {directory}) has weights with SHA-256 {here.WeightsSha256}, but the " +
            $"committed runs were made on weights with SHA-256 {committed.WeightsSha256} ({Path.Combine(folder, FileName(committed.Profile, committed.Key))}, " +
            $"pretrained on {committed.Device}): runs on this base would not be comparable with them, so none is added. Pretraining " +
            "is seeded and uses deterministic kernels; a different libtorch or device can still change the weights");
    }

    /// <summary>SHA-256 (hex) of a model folder's weights file, model.safetensors.</summary>
    public static string WeightsSha256(string directory)
    {
        using var stream = File.OpenRead(Path.Combine(directory, "model.safetensors"));
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
