using LoraLab.Data;
using LoraLab.Data.Corpora;
using LoraLab.Data.Tokenization;

namespace LoraLab.BaseModels;

/// <summary>
/// The English pretraining data of a base model: the Brown + State of the Union mixture split by
/// document (so no held-out text was seen in training), a byte-level BPE tokenizer trained on the
/// training split, and both splits encoded as cached token shards.
/// </summary>
public sealed record PretrainingData(BpeTokenizer Tokenizer, int[] Train, int[] Validation, string Key)
{
    public static PretrainingData LoadOrBuild(BaseModelProfile profile, DataRoot root, string cacheDirectory, Action<string> log)
    {
        var splits = DocumentSplits(profile, root);
        var train = splits.Train.Take(profile.MaxTrainDocuments).Select(d => d.Text).ToList();
        var validation = splits.Validation.Select(d => d.Text).ToList();

        var tokenizer = LoadOrTrainTokenizer(profile, train, cacheDirectory, log);
        var trainShard = TokenShardCache.LoadOrBuild(cacheDirectory, $"english-train-{profile.Name}", train, tokenizer, log);
        var validationShard = TokenShardCache.LoadOrBuild(cacheDirectory, $"english-validation-{profile.Name}", validation, tokenizer, log);
        return new PretrainingData(tokenizer, trainShard.Tokens, validationShard.Tokens, trainShard.Key);
    }

    /// <summary>
    /// The English mixture split by document as the base's pretraining splits it. The base trains on (a prefix of)
    /// Train and is validated on Validation; Test is never used by pretraining, so it is the held-out source-domain
    /// text on which finetuning's forgetting is measured.
    /// </summary>
    public static Splits<TextDocument> DocumentSplits(BaseModelProfile profile, DataRoot root)
    {
        var documents = EnglishMixture.Load(root, profile.Seed);
        // One label for all: held-out documents are drawn from the whole mixture, at least one of them.
        return DatasetSplit.ByGroup(documents, d => d.Id, _ => "english", profile.Seed, validationFraction: 0.05, testFraction: 0.05);
    }

    // The tokenizer is trained on (a prefix of) the training documents and cached by what it was trained on.
    private static BpeTokenizer LoadOrTrainTokenizer(BaseModelProfile profile, IReadOnlyList<string> train, string cacheDirectory, Action<string> log)
    {
        var sample = new List<string>();
        long chars = 0;
        foreach (var text in train)
        {
            if (chars >= profile.MaxTokenizerChars) break;
            sample.Add(text);
            chars += text.Length;
        }
        string key = StableHash.OfStrings(new[] { "tokenizer", profile.VocabularySize.ToString() }.Concat(sample))[..16];
        string path = Path.Combine(cacheDirectory, $"tokenizer-{profile.VocabularySize}-{key}.json");
        if (File.Exists(path))
        {
            try { return BpeTokenizer.Load(path); }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidDataException or FormatException)
            {
                log($"Tokenizer cache '{path}' is unusable ({e.Message}); training it again.");
            }
        }
        log($"Training a {profile.VocabularySize}-token BPE tokenizer on {chars:N0} characters.");
        var tokenizer = BpeTrainer.Train(sample, profile.VocabularySize);
        Directory.CreateDirectory(cacheDirectory);
        // A name of this process's own: concurrent runs (the tasks of a Slurm array) may train the same tokenizer.
        string temporary = path + $".{Environment.ProcessId}.tmp";
        tokenizer.Save(temporary);
        File.Move(temporary, path, overwrite: true);
        return tokenizer;
    }
}
