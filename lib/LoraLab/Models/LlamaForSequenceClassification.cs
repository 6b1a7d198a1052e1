using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Models;

/// <summary>
/// The Llama backbone with a classification head `score` (no bias), as Hugging Face's
/// LlamaForSequenceClassification: the logits of a sequence are those at its last non-pad token
/// (the last position when the config has no pad_token_id).
/// </summary>
public sealed class LlamaForSequenceClassification : nn.Module<Tensor, Tensor>
{
    public LlamaConfig config { get; }
    public LlamaModel model;
    public nn.Module<Tensor, Tensor> score;

    public LlamaForSequenceClassification(LlamaConfig config, ScalarType? dtype = null, Device? device = null) : base(nameof(LlamaForSequenceClassification))
    {
        this.config = config;
        model = new LlamaModel(config, dtype, device);
        score = nn.Linear(config.hidden_size, config.num_labels, hasBias: false, device, dtype);
        RegisterComponents();
        LlamaInit.Normal(this, config.initializer_range);
    }

    /// <summary>Class logits [B, num_labels]: the head on each sequence's last non-pad state.</summary>
    public override Tensor forward(Tensor input_ids) => score.call(LastTokenStates(input_ids));

    /// <summary>The backbone's final state at each sequence's last non-pad token [B, hidden] (HF: the largest position
    /// holding a non-pad token; the last position when the config has no pad_token_id). The head reads only these, so
    /// with a frozen backbone they are all a head-only run needs.</summary>
    public Tensor LastTokenStates(Tensor input_ids)
    {
        var hidden = model.call(input_ids);     // [B, T, H]
        long B = hidden.size(0), T = hidden.size(1), H = hidden.size(2);
        Tensor last;
        if (config.pad_token_id is { } pad)
        {
            var positions = torch.arange(0, T, 1, ScalarType.Float32, input_ids.device);
            var mask = input_ids.ne(pad).to(ScalarType.Float32);
            last = (positions * mask).argmax(-1);
        }
        else last = torch.full(new[] { B }, T - 1, ScalarType.Int64, input_ids.device);
        return hidden.gather(1, last.view(B, 1, 1).expand(B, 1, H)).squeeze(1);
    }

    public static Tensor Loss(Tensor logits, Tensor labels) => F.cross_entropy(logits, labels);
}
