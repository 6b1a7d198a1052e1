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
    /// with a frozen backbone they are all a head-only run needs, and the backbone computes its last block at them only
    /// (<see cref="LlamaModel.StatesAt"/>).</summary>
    public Tensor LastTokenStates(Tensor input_ids) => model.StatesAt(input_ids, LastPositions(input_ids));

    /// <summary>Each sequence's last non-pad position [B] (int64); T − 1 when the config has no pad_token_id.</summary>
    public Tensor LastPositions(Tensor input_ids)
    {
        long B = input_ids.size(0), T = input_ids.size(1);
        if (config.pad_token_id is not { } pad) return torch.full(new[] { B }, T - 1, ScalarType.Int64, input_ids.device);
        var positions = torch.arange(0, T, 1, ScalarType.Float32, input_ids.device);
        return (positions * input_ids.ne(pad).to(ScalarType.Float32)).argmax(-1);
    }

    public static Tensor Loss(Tensor logits, Tensor labels) => F.cross_entropy(logits, labels);
}
