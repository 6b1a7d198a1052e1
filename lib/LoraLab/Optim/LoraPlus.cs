using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Optim;

/// <summary>
/// Parameter groups for LoRA+ (Hayou, Ghosh &amp; Yu 2024): the B factors learn at λ times the rate
/// of the A factors (λ = lr_ratio, e.g. 16). Only trainable parameters are included.
///
/// Groups: "lora_A" (lr, wd), "lora_B" (λ·lr, wd), "other" (everything else trainable with ≥ 2
/// dimensions — e.g. a classification head — at lr, wd) and "no_decay" (1-D parameters: biases and
/// norm scales, without weight decay).
///
/// 1-D parameters: the loraplus reference code puts them in the boosted group (λ·lr). The LoRA+
/// argument is about the B factor of a product B·A only, so by default we keep them at the base
/// lr (boost_1d: false); pass boost_1d: true to reproduce the reference code. Empty groups are dropped.
/// </summary>
public static class LoraPlus
{
    public static List<ParamGroup> ParamGroups(nn.Module model, double lr, double lr_ratio = 16, double weight_decay = 0, bool boost_1d = false)
    {
        if (!(lr_ratio > 0)) throw new ArgumentException($"lr_ratio must be positive, got {lr_ratio}", nameof(lr_ratio));
        var a = new List<Tensor>();
        var b = new List<Tensor>();
        var other = new List<Tensor>();
        var oneD = new List<Tensor>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            if (name.EndsWith(".lora_B.weight", StringComparison.Ordinal)) b.Add(p);
            else if (name.EndsWith(".lora_A.weight", StringComparison.Ordinal)) a.Add(p);
            else if (p.dim() <= 1) oneD.Add(p);
            else other.Add(p);
        }
        var groups = new List<ParamGroup>
        {
            new(a, lr, weight_decay, "lora_A"),
            new(b, lr * lr_ratio, weight_decay, "lora_B"),
            new(other, lr, weight_decay, "other"),
            new(oneD, boost_1d ? lr * lr_ratio : lr, 0, "no_decay"),
        };
        return groups.Where(g => g.parameters.Count > 0).ToList();
    }
}
