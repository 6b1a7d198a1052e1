using LoraLab.Models;

namespace LoraLab.BaseModels;

/// <summary>
/// Everything that decides a pretrained base model: the tokenizer's vocabulary, the model's shape
/// and the pretraining run. A profile's hash names its cache folder, so a changed knob builds a new
/// model instead of reusing a stale one. With <see cref="Bf16OnCuda"/> the weights (and so the whole
/// step) are bfloat16 when the model trains on a GPU; on the CPU they stay float32.
/// </summary>
public sealed record BaseModelProfile(
    string Name,
    int VocabularySize,
    LlamaConfig Model,
    int ContextLength,
    int BatchSize,
    long Steps,
    double LearningRate,
    double WarmupRatio,
    double WeightDecay,
    int Seed,
    int MaxTokenizerChars,
    int MaxTrainDocuments,
    bool Bf16OnCuda = false)
{
    /// <summary>CPU, 2 cores, a few minutes: small, but far better than a unigram model.</summary>
    public static BaseModelProfile Quick { get; } = new(
        "quick", VocabularySize: 2048,
        Model: new LlamaConfig(hidden_size: 128, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 344,
                               vocab_size: 2048, max_position_embeddings: 128, tie_word_embeddings: true),
        ContextLength: 128, BatchSize: 16, Steps: 400, LearningRate: 3e-3, WarmupRatio: 0.05, WeightDecay: 0.1,
        Seed: 0, MaxTokenizerChars: 4_000_000, MaxTrainDocuments: int.MaxValue);

    /// <summary>For one GPU: wider, deeper, longer; closer to (though far below) the papers' models.</summary>
    public static BaseModelProfile Paper { get; } = new(
        "paper", VocabularySize: 8192,
        Model: new LlamaConfig(hidden_size: 512, num_hidden_layers: 8, num_attention_heads: 8, intermediate_size: 1376,
                               vocab_size: 8192, max_position_embeddings: 512, tie_word_embeddings: false),
        ContextLength: 512, BatchSize: 32, Steps: 6000, LearningRate: 1e-3, WarmupRatio: 0.03, WeightDecay: 0.1,
        Seed: 0, MaxTokenizerChars: 20_000_000, MaxTrainDocuments: int.MaxValue, Bf16OnCuda: true);

    /// <summary>The smallest model that still learns: for tests and CI.</summary>
    public static BaseModelProfile Tiny { get; } = new(
        "tiny", VocabularySize: 512,
        Model: new LlamaConfig(hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 172,
                               vocab_size: 512, max_position_embeddings: 64, tie_word_embeddings: true),
        ContextLength: 64, BatchSize: 16, Steps: 150, LearningRate: 5e-3, WarmupRatio: 0.05, WeightDecay: 0.0,
        Seed: 0, MaxTokenizerChars: 400_000, MaxTrainDocuments: 80);

    public static BaseModelProfile Named(string name) => name switch
    {
        "quick" => Quick,
        "paper" => Paper,
        "tiny" or "ci" => Tiny,
        _ => throw new ArgumentException($"unknown base-model profile '{name}'; use quick, paper or tiny", nameof(name)),
    };

    /// <summary>Rejects impossible values before any work starts, naming the field.</summary>
    public void Validate()
    {
        Model.Validate();
        if (VocabularySize != Model.vocab_size)
            throw new ArgumentException($"VocabularySize {VocabularySize} differs from Model.vocab_size {Model.vocab_size}", nameof(VocabularySize));
        if (VocabularySize < 258) throw new ArgumentException("a byte-level vocabulary needs at least 256 bytes and 2 special tokens", nameof(VocabularySize));
        if (ContextLength < 2 || ContextLength > Model.max_position_embeddings)
            throw new ArgumentException($"ContextLength must be in [2, {Model.max_position_embeddings}]", nameof(ContextLength));
        if (BatchSize < 1) throw new ArgumentException("must be positive", nameof(BatchSize));
        if (Steps < 1) throw new ArgumentException("must be positive", nameof(Steps));
        if (!(LearningRate > 0)) throw new ArgumentException("must be positive", nameof(LearningRate));
        if (WarmupRatio is < 0 or >= 1) throw new ArgumentException("must be in [0, 1)", nameof(WarmupRatio));
    }
}
