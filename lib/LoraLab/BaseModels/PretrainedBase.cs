using System.Text.Json;
using LoraLab.Checkpoints;
using LoraLab.Data;
using LoraLab.Data.Tokenization;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Training;

namespace LoraLab.BaseModels;

/// <summary>What pretraining measured: held-out perplexity next to the unigram baseline's.</summary>
public sealed record BaseModelReport(
    string Profile, string Key, double ValidationLoss, double ValidationPerplexity,
    double UnigramLoss, double UnigramPerplexity, long Steps, long TrainTokens, double Seconds, string Device);

/// <summary>
/// A Llama-style language model pretrained here on English, since no pretrained model can be
/// downloaded. <see cref="LoadOrBuild"/> returns the cached model of a profile when it exists and
/// is intact, and otherwise builds it from the corpora (tokenizer, shards, pretraining) and caches it
/// under <c>data/cache/base/</c>, keyed by the profile and its data.
/// </summary>
public sealed class PretrainedBase : IDisposable
{
    private PretrainedBase(BaseModelProfile profile, PretrainingData data, LlamaForCausalLM model, BaseModelReport report, string directory)
    {
        Profile = profile;
        Data = data;
        Model = model;
        Report = report;
        Directory = directory;
    }

    public BaseModelProfile Profile { get; }
    public PretrainingData Data { get; }
    public BpeTokenizer Tokenizer => Data.Tokenizer;
    public LlamaForCausalLM Model { get; }
    public BaseModelReport Report { get; }

    /// <summary>A fresh copy of the base language model, in its dtype and on its device, for a run to change (LoRA or
    /// finetuning must never touch the shared base); <paramref name="maxPositions"/> widens its context (rotary positions
    /// have no learned table, so the weights are the same).</summary>
    public LlamaForCausalLM FreshCopy(int? maxPositions = null)
    {
        var weights = Model.parameters().First();
        var config = maxPositions is { } positions ? Model.config with { max_position_embeddings = positions } : Model.config;
        var copy = new LlamaForCausalLM(config, weights.dtype, weights.device);
        copy.load_state_dict_checked(Model.state_dict());
        return copy;
    }
    /// <summary>The cache folder: config.json + model.safetensors (Hugging Face layout), tokenizer.json, report.json.</summary>
    public string Directory { get; }

    public static PretrainedBase LoadOrBuild(BaseModelProfile profile, DataRoot? root = null, string? cacheDirectory = null,
                                             Device? device = null, Action<string>? log = null)
    {
        profile.Validate();
        log ??= Console.Error.WriteLine;
        root ??= DataRoot.Default();
        cacheDirectory ??= TokenShardCache.DefaultDirectory();
        device ??= torch.cuda.is_available() ? torch.CUDA : torch.CPU;

        var data = PretrainingData.LoadOrBuild(profile, root, cacheDirectory, log);
        string key = StableHash.OfStrings(new[] { "base-model-v1", JsonSerializer.Serialize(profile), data.Tokenizer.Hash, data.Key })[..16];
        string directory = Path.Combine(cacheDirectory, "base", $"{profile.Name}-{key}");

        var cached = TryLoad(directory, device, log);
        if (cached is not null) return new PretrainedBase(profile, data, cached.Value.model, cached.Value.report, directory);

        var (model, report) = Pretrain(profile, data, key, device, log);
        Save(directory, model, data.Tokenizer, report);
        return new PretrainedBase(profile, data, model, report, directory);
    }

    private static (LlamaForCausalLM model, BaseModelReport report)? TryLoad(string directory, Device device, Action<string> log)
    {
        string reportPath = Path.Combine(directory, "report.json");
        if (!File.Exists(reportPath)) return null;
        try
        {
            var report = JsonSerializer.Deserialize<BaseModelReport>(File.ReadAllText(reportPath))
                         ?? throw new InvalidDataException("report.json is empty");
            return (HfCheckpoint.LoadCausalLM(directory, device), report);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or ArgumentException or System.Runtime.InteropServices.ExternalException)
        {
            log($"The cached base model in '{directory}' is unusable ({e.Message}); pretraining it again.");
            return null;
        }
    }

    private static (LlamaForCausalLM, BaseModelReport) Pretrain(BaseModelProfile profile, PretrainingData data, string key, Device device, Action<string> log)
    {
        log($"Pretraining the '{profile.Name}' base model on {data.Train.Length:N0} tokens ({profile.Steps} steps of {profile.BatchSize}x{profile.ContextLength}) on {device}.");
        using var threads = TorchRuntime.AllCoresUnlessSet();      // one large run with the machine to itself
        torch.manual_seed(profile.Seed);
        var dtype = profile.Bf16OnCuda && device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32;
        var model = new LlamaForCausalLM(profile.Model, dtype, device);
        using var optimizer = new AdamW(model.parameters(), lr: profile.LearningRate, weight_decay: profile.WeightDecay, beta2: 0.95);
        var batches = new TokenWindows(data.Train, profile.ContextLength, profile.BatchSize, profile.Seed);
        var options = new TrainerOptions { MaxSteps = profile.Steps, ClipGradNorm = 1.0, LogEvery = 10, ProgressLabel = $"pretrain {profile.Name}" };
        var result = Trainer.Run(model, optimizer, Schedules.Cosine(profile.Steps, profile.WarmupRatio, min_ratio: 0.1),
            (_, _) =>
            {
                var batch = batches.Next(device);
                return new MicroBatchLoss(model.Loss(batch), batch.numel());
            },
            options, evaluate: () => ValidationLoss(model, data.Validation, profile, device));
        if (result.Diverged) throw new InvalidOperationException($"pretraining diverged: {result.DivergenceReason}");

        double unigram = UnigramBaseline.CrossEntropy(data.Train, data.Validation, profile.VocabularySize);
        double loss = result.FinalEvalLoss!.Value;
        var report = new BaseModelReport(profile.Name, key, loss, Math.Exp(loss), unigram, Math.Exp(unigram),
                                         result.Steps, result.Tokens, result.Elapsed.TotalSeconds, device.ToString());
        log($"Base model '{profile.Name}': validation perplexity {report.ValidationPerplexity:F1} (unigram baseline {report.UnigramPerplexity:F1}), {report.Seconds:F0} s.");
        return (model, report);
    }

    /// <summary>Mean next-token loss over (up to 64 batches of) consecutive held-out windows.</summary>
    public static double ValidationLoss(LlamaForCausalLM model, int[] tokens, BaseModelProfile profile, Device device)
    {
        double sum = 0;
        int batches = 0;
        foreach (var batch in TokenWindows.Sequential(tokens, profile.ContextLength, profile.BatchSize, maxBatches: 64))
        {
            using var scope = torch.NewDisposeScope();
            sum += model.Loss(batch.to(device)).ToDouble();
            batch.Dispose();
            batches++;
        }
        return sum / batches;
    }

    // Written to a temporary folder and renamed, so a crash never leaves a half-written model behind.
    private static void Save(string directory, LlamaForCausalLM model, BpeTokenizer tokenizer, BaseModelReport report)
    {
        string temporary = directory + ".tmp-" + Environment.ProcessId;
        if (System.IO.Directory.Exists(temporary)) System.IO.Directory.Delete(temporary, recursive: true);
        HfCheckpoint.Save(temporary, model);
        tokenizer.Save(Path.Combine(temporary, "tokenizer.json"));
        File.WriteAllText(Path.Combine(temporary, "report.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(directory)!);
        System.IO.Directory.Move(temporary, directory);
    }

    public void Dispose() => Model.Dispose();
}
