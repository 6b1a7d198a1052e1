using System.Text.Json;
using LoraLab.Checkpoints;
using LoraLab.Data;
using LoraLab.Data.Sweeps;
using LoraLab.Data.Tokenization;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Analysis;

/// <summary>
/// The weights of one finetuning run saved at several training lengths, cached like the base models: under
/// <c>data/cache/finetune/{name}-{key}/</c>, where key is a hash of the recipe's canonical JSON, so a changed knob
/// trains again and an unchanged one is loaded. Each checkpoint is <c>step-{n}.safetensors</c> (the model's
/// state_dict); <c>recipe.json</c> lists the recipe and the steps. The folder is written under a temporary name and
/// renamed when complete, so a killed run never leaves a half-written cache behind.
/// </summary>
public sealed class FinetuneCheckpoints
{
    private FinetuneCheckpoints(string directory, IReadOnlyList<long> steps)
    {
        Directory = directory;
        Steps = steps;
    }

    public string Directory { get; }
    public IReadOnlyList<long> Steps { get; }

    /// <summary>The weights after <paramref name="step"/> steps, as new CPU tensors owned by the caller.</summary>
    public Dictionary<string, Tensor> Load(long step)
    {
        if (!Steps.Contains(step)) throw new ArgumentException($"no checkpoint at step {step}; this cache has steps {string.Join(", ", Steps)}", nameof(step));
        return Safetensors.Load(PathOf(Directory, step));
    }

    /// <summary>
    /// The cached checkpoints of this recipe, or, when missing or unusable, the result of
    /// <paramref name="train"/>: it trains and calls its argument <c>save(step, model)</c> at each of
    /// <paramref name="steps"/> (every one must be saved).
    /// </summary>
    public static FinetuneCheckpoints LoadOrTrain<TRecipe>(string name, TRecipe recipe, IReadOnlyList<long> steps,
                                                           Action<Action<long, nn.Module>> train, string? cacheDirectory = null, Action<string>? log = null)
    {
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"'{name}' cannot name a cache folder", nameof(name));
        if (steps.Count == 0 || steps.Any(s => s < 1)) throw new ArgumentException("checkpoint steps must be positive, and at least one", nameof(steps));
        log ??= Console.Error.WriteLine;
        var sorted = steps.Distinct().OrderBy(s => s).ToList();
        string recipeJson = CanonicalJson.Serialize(recipe);
        string key = StableHash.OfStrings(new[] { "finetune-checkpoints-v1", recipeJson, string.Join(",", sorted) })[..16];
        string directory = Path.Combine(cacheDirectory ?? TokenShardCache.DefaultDirectory(), "finetune", $"{name}-{key}");

        if (IsComplete(directory, sorted, log)) return new FinetuneCheckpoints(directory, sorted);
        // Workers of one sweep may want the same run at once: one trains it, the others wait and then load it.
        using var writing = ExclusiveLock($"{directory}.lock", log);
        if (IsComplete(directory, sorted, log)) return new FinetuneCheckpoints(directory, sorted);

        string temporary = $"{directory}.tmp-{Environment.ProcessId}";
        if (System.IO.Directory.Exists(temporary)) System.IO.Directory.Delete(temporary, recursive: true);
        System.IO.Directory.CreateDirectory(temporary);
        var saved = new HashSet<long>();
        train((step, model) =>
        {
            if (!sorted.Contains(step) || !saved.Add(step)) return;    // not a checkpoint step, or already saved
            using var scope = torch.NewDisposeScope();
            var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu());
            Safetensors.Save(PathOf(temporary, step), state);
        });
        var missing = sorted.Where(s => !saved.Contains(s)).ToList();
        if (missing.Count > 0)
        {
            System.IO.Directory.Delete(temporary, recursive: true);
            throw new InvalidOperationException($"the training of '{name}' never saved steps {string.Join(", ", missing)}");
        }
        File.WriteAllText(Path.Combine(temporary, "recipe.json"),
                          JsonSerializer.Serialize(new Manifest(recipeJson, sorted), new JsonSerializerOptions { WriteIndented = true }));
        if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
        System.IO.Directory.Move(temporary, directory);
        return new FinetuneCheckpoints(directory, sorted);
    }

    // An advisory lock on a file (FileShare.None takes flock on Unix), held until disposed; released by the system when
    // the holder dies, so a killed worker never blocks the others. The file itself stays: deleting it would race.
    private static FileStream ExclusiveLock(string path, Action<string> log)
    {
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        bool told = false;
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (File.Exists(path))
            {
                if (!told) log($"Another process is training the checkpoints of '{Path.GetFileNameWithoutExtension(path)}'; waiting for it.");
                told = true;
                Thread.Sleep(250);
            }
        }
    }

    private sealed record Manifest(string recipe, IReadOnlyList<long> steps);

    private static string PathOf(string directory, long step) => Path.Combine(directory, $"step-{step}.safetensors");

    // Complete = the manifest lists exactly these steps and every checkpoint file reads back.
    private static bool IsComplete(string directory, IReadOnlyList<long> steps, Action<string> log)
    {
        string manifest = Path.Combine(directory, "recipe.json");
        if (!File.Exists(manifest)) return false;
        try
        {
            var read = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifest)) ?? throw new InvalidDataException("recipe.json is empty");
            if (!read.steps.SequenceEqual(steps)) throw new InvalidDataException($"recipe.json lists steps {string.Join(", ", read.steps)}");
            foreach (long step in steps)
                foreach (var t in Safetensors.Load(PathOf(directory, step)).Values) t.Dispose();
            return true;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or ArgumentException)
        {
            log($"The cached checkpoints in '{directory}' are unusable ({e.Message}); training them again.");
            return false;
        }
    }
}
