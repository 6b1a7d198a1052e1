using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Modules;

/// <summary>
/// Loading a state dict with errors that say what is wrong. TorchSharp's load_state_dict says only that the keys
/// differ, and copy_ would broadcast a tensor of the wrong shape; this names the missing and unexpected keys and every
/// shape that does not match, and converts dtype and device.
/// </summary>
public static class StateDicts
{
    /// <summary>
    /// Copies values into the module's parameters and buffers. strict: every key must match, else an ArgumentException
    /// lists the missing and unexpected keys. Not strict: mismatched keys are skipped and returned. A shape mismatch is
    /// always an ArgumentException naming the key and both shapes.
    /// </summary>
    public static (List<string> missing, List<string> unexpected) load_state_dict_checked(this nn.Module module,
        IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = module.state_dict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var wrongShape = own.Keys.Where(state.ContainsKey)
            .Where(k => !own[k].shape.SequenceEqual(state[k].shape))
            .Select(k => $"{k}: checkpoint {Shape(state[k])}, model {Shape(own[k])}").ToList();
        if (wrongShape.Count > 0)
            throw new ArgumentException("load_state_dict: shape mismatch for " + string.Join("; ", wrongShape), nameof(state));
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new ArgumentException("load_state_dict (strict): " +
                (missing.Count > 0 ? $"missing keys: {string.Join(", ", missing)}. " : "") +
                (unexpected.Count > 0 ? $"unexpected keys: {string.Join(", ", unexpected)}." : ""), nameof(state));
        using (torch.no_grad())
            foreach (var (name, target) in own)
                if (state.TryGetValue(name, out var source))
                {
                    using var converted = source.to(target.dtype, target.device);
                    target.copy_(converted);
                }
        return (missing, unexpected);
    }

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
