using System.Text.Json;
using LoraLab.Checkpoints;
using LoraLab.Data;
using LoraLab.Data.Sweeps;
using LoraLab.Data.Tokenization;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Training;

namespace LoraLab.BaseModels;

/// <summary>What pretraining measured: held-out perplexity next to the unigram baseline's, and the SHA-256 of the weights
/// it made (see <see cref="CommittedBases"/>).</summary>
public sealed record BaseModelReport(
    string Profile, string Key, double ValidationLoss, double ValidationPerplexity,
    double UnigramLoss, double UnigramPerplexity, long Steps, long TrainTokens, double Seconds, string Device,
    string? WeightsSha256 = null);

/// <summary>
/// A Llama-style language model pretrained here on English, since no pretrained model can be
/// downloaded. <see cref="LoadOrBuild"/> returns the cached model of a profile when it exists and
/// is intact, and otherwise builds it from the corpora (tokenizer, shards, pretraining) and caches it
/// under <c>data/cache/base/</c>, keyed by the profile and its data. In render-only mode (<see cref="RenderOnly"/>) it
/// never pretrains: a base that is not cached comes without weights, with its key, tokenizer and (where committed) report.
/// </summary>
public sealed class PretrainedBase : IDisposable
{
    private readonly LlamaForCausalLM? _model;

    private PretrainedBase(BaseModelProfile profile, PretrainingData data, LlamaForCausalLM? model, BaseModelReport report, string directory)
    {
        Profile = profile;
        Data = data;
        _model = model;
        Report = report;
        Directory = directory;
    }

    public BaseModelProfile Profile { get; }
    public PretrainingData Data { get; }
    public BpeTokenizer Tokenizer => Data.Tokenizer;

    /// <summary>The pretrained language model; throws for a base without weights here (render-only, not cached).</summary>
    public LlamaForCausalLM Model => _model ?? throw new InvalidOperationException(
        $"the '{Profile.Name}' base model's weights are not on this machine (render-only: nothing is pretrained or trained; " +
        $"its key is {Report.Key}); run without --render-only to pretrain it");

    /// <summary>Whether the weights are here: false for a render-only base that was not cached.</summary>
    public bool HasWeights => _model is not null;

    /// <summary>Where the weights are, or (without weights) where they would be loaded.</summary>
    public Device Device => _model?.parameters().First().device ?? (torch.cuda.is_available() ? torch.CUDA : torch.CPU);

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

    /// <param name="renderOnly">Never pretrain (default: the process's render-only mode, <see cref="RenderOnly.IsOn"/>): a
    /// base that is not cached, or whose weights are not the committed ones, comes without weights.</param>
    /// <param name="committedBases">The folder of committed base reports (default <see cref="CommittedBases.Folder"/>).</param>
    public static PretrainedBase LoadOrBuild(BaseModelProfile profile, DataRoot? root = null, string? cacheDirectory = null,
                                             Device? device = null, Action<string>? log = null, bool? renderOnly = null,
                                             string? committedBases = null)
    {
        profile.Validate();
        log ??= Console.Error.WriteLine;
        root ??= DataRoot.Default();
        cacheDirectory ??= TokenShardCache.DefaultDirectory();
        device ??= torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        bool withoutTraining = renderOnly ?? RenderOnly.IsOn;

        var data = PretrainingData.LoadOrBuild(profile, root, cacheDirectory, log);
        string key = StableHash.OfStrings(new[] { "base-model-v1", JsonSerializer.Serialize(profile), data.Tokenizer.Hash, data.Key })[..16];
        string directory = Path.Combine(cacheDirectory, "base", $"{profile.Name}-{key}");
        committedBases ??= CommittedBases.Folder;
        var committed = CommittedBases.Find(committedBases, profile.Name, key, log);

        var cached = TryLoad(directory, device, log);
        if (cached is not null)
        {
            var (model, report) = cached.Value;
            // The checksum of what is on disk now, read only where there is a committed one to hold it against (a report
            // written before checksums has none; a changed file differs).
            if (committed is not null) report = report with { WeightsSha256 = CommittedBases.WeightsSha256(directory) };
            if (committed is not null && withoutTraining && committed.WeightsSha256 is { } sha && sha != report.WeightsSha256)
            {
                log($"The cached '{profile.Name}' base in {directory} is not the committed one (SHA-256 {report.WeightsSha256}, committed {sha}); render-only goes on without weights.");
                model.Dispose();
                return new PretrainedBase(profile, data, null, committed, directory);
            }
            try { if (committed is not null) CommittedBases.Check(committedBases, committed, report, directory); }
            catch { model.Dispose(); throw; }
            return new PretrainedBase(profile, data, model, report, directory);
        }
        if (withoutTraining)
        {
            log($"Render-only: the '{profile.Name}' base (key {key}) is not cached here and is not pretrained; " +
                (committed is null ? "no committed report of it either (data/results/bases)." : $"its committed report is from {committed.Device}."));
            return new PretrainedBase(profile, data, null, committed ?? NotHere(profile, data, key), directory);
        }

        var (trained, trainedReport) = Pretrain(profile, data, key, device, log);
        trainedReport = Save(directory, trained, data.Tokenizer, trainedReport);
        try { if (committed is not null) CommittedBases.Check(committedBases, committed, trainedReport, directory); }
        catch { trained.Dispose(); throw; }
        return new PretrainedBase(profile, data, trained, trainedReport, directory);
    }

    /// <summary>The report of a base that is neither here nor committed: its key and the unigram baseline (computed from
    /// the data in a moment); what pretraining would measure is NaN.</summary>
    private static BaseModelReport NotHere(BaseModelProfile profile, PretrainingData data, string key)
    {
        double unigram = UnigramBaseline.CrossEntropy(data.Train, data.Validation, profile.VocabularySize);
        return new BaseModelReport(profile.Name, key, double.NaN, double.NaN, unigram, Math.Exp(unigram), 0, 0, 0, "not pretrained here");
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
        // Seeded, so that every GPU run of the paper profile pretrains the same base (CommittedBases checks that it did;
        // TorchSharp 0.107 lacks use_deterministic_algorithms, so on CUDA the GPU script sets CUBLAS_WORKSPACE_CONFIG).
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

    // Written to a temporary folder and renamed, so a crash never leaves a half-written model behind. Returns the report
    // with the weights' checksum.
    private static BaseModelReport Save(string directory, LlamaForCausalLM model, BpeTokenizer tokenizer, BaseModelReport report)
    {
        string temporary = directory + ".tmp-" + Environment.ProcessId;
        if (System.IO.Directory.Exists(temporary)) System.IO.Directory.Delete(temporary, recursive: true);
        HfCheckpoint.Save(temporary, model);
        report = report with { WeightsSha256 = CommittedBases.WeightsSha256(temporary) };
        tokenizer.Save(Path.Combine(temporary, "tokenizer.json"));
        File.WriteAllText(Path.Combine(temporary, "report.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(directory)!);
        System.IO.Directory.Move(temporary, directory);
        return report;
    }

    public void Dispose() => _model?.Dispose();
}
