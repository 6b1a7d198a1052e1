using LoraLab.Data.Tokenization;
using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.BaseModels;

/// <summary>
/// A classification head read off the language model's own output layer (a verbalizer, as in prompt-based
/// finetuning): label k's logit is the LM's logit of one token that stands for the label, at the last position.
/// The `score` head is a linear map of the final normed hidden state, exactly like `lm_head`, so copying the rows
/// of the label tokens makes the classifier's logits those next-token logits. Kept frozen, it leaves all the
/// learning to LoRA: the head cannot fit the task on its own.
/// </summary>
public static class VerbalizerHead
{
    /// <summary>One token per label word: the first token of " word" (with the space a word has in running text).</summary>
    public static int[] Tokens(BpeTokenizer tokenizer, IReadOnlyList<string> words)
    {
        var tokens = words.Select(word =>
        {
            var ids = tokenizer.Encode(" " + word);
            return ids.Length > 0 ? ids[0] : throw new ArgumentException($"the label word '{word}' encodes to no token", nameof(words));
        }).ToArray();
        for (int i = 0; i < tokens.Length; i++)
            for (int j = 0; j < i; j++)
                if (tokens[i] == tokens[j])
                    throw new ArgumentException($"the label words '{words[j]}' and '{words[i]}' start with the same token " +
                                                $"'{tokenizer.Decode([tokens[i]])}': a verbalizer needs a distinct token per label", nameof(words));
        return tokens;
    }

    /// <summary>Sets <paramref name="classifier"/>'s score weight [labels, hidden] to the LM's output rows of <paramref name="tokens"/>.</summary>
    public static void Apply(LlamaForSequenceClassification classifier, LlamaForCausalLM lm, IReadOnlyList<int> tokens)
    {
        var score = Weight(classifier.score, "score");
        if (score.size(0) != tokens.Count)
            throw new ArgumentException($"the classifier has {score.size(0)} labels but {tokens.Count} verbalizer tokens were given", nameof(tokens));
        var output = lm.lm_head is null ? lm.model.embed_tokens.weight! : Weight(lm.lm_head, "lm_head");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var index = torch.tensor(tokens.Select(t => (long)t).ToArray()).to(output.device);
        score.copy_(output.index_select(0, index).to(score.dtype));
    }

    // The weight of a head: a Linear, or a LoraLinear in its place.
    private static Tensor Weight(nn.Module<Tensor, Tensor> head, string name) => head switch
    {
        TorchSharp.Modules.Linear linear => linear.weight,
        Lora.LoraLinear lora => lora.weight,
        _ => throw new ArgumentException($"'{name}' is a {head.GetType().Name}, not a Linear", nameof(head)),
    };
}
