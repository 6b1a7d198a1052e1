using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// <summary>
/// The keys and values every attention layer has computed so far during decoding, so that a new token attends to the
/// earlier positions without recomputing them: a step of greedy decoding then costs one position's forward pass, not
/// the whole sequence's. Inference only (no autograd). The cache owns its tensors: they live outside any dispose
/// scope and are freed when replaced by a longer one or when the cache is disposed.
/// </summary>
public sealed class KeyValueCache : IDisposable
{
    private readonly Tensor?[] keys, values;

    public KeyValueCache(int layers)
    {
        keys = new Tensor?[layers];
        values = new Tensor?[layers];
    }

    /// <summary>Positions held per row (0 before the first forward pass).</summary>
    public long Length => keys[0]?.size(2) ?? 0;

    /// <summary>Appends layer <paramref name="layer"/>'s keys and values of the new positions, [B, heads, T_new, D], and
    /// returns that layer's keys and values of every position so far, [B, heads, T_all, D].</summary>
    public (Tensor keys, Tensor values) Append(int layer, Tensor newKeys, Tensor newValues)
    {
        var (k, v) = keys[layer] is null
            ? (newKeys.detach(), newValues.detach())
            : (torch.cat(new[] { keys[layer]!, newKeys }, 2), torch.cat(new[] { values[layer]!, newValues }, 2));
        keys[layer]?.Dispose();
        values[layer]?.Dispose();
        keys[layer] = k.DetachFromDisposeScope();
        values[layer] = v.DetachFromDisposeScope();
        return (keys[layer]!, values[layer]!);
    }

    public void Dispose()
    {
        foreach (var t in keys.Concat(values)) t?.Dispose();
        Array.Clear(keys);
        Array.Clear(values);
    }
}
