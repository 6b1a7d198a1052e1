using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;

// Tests share libtorch's global RNG (manual_seed) and measure Tensor.LiveCount: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace LoraLab.Tests;

internal static class TestSupport
{
    /// <summary>A Llama small enough to train in a second on two cores.</summary>
    public static LlamaConfig TinyLlama(bool tie = false, double init = 0.02) => new(
        hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64,
        vocab_size: 48, max_position_embeddings: 32, tie_word_embeddings: tie, initializer_range: init);

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        return (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().ToDouble();
    }

    private static readonly string TempRoot = Path.Combine(Path.GetTempPath(), "loralab-tests-" + Environment.ProcessId);

    static TestSupport() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        try { Directory.Delete(TempRoot, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    };

    /// <summary>A fresh folder, deleted with the others when the test process exits.</summary>
    public static string TempDir(string name)
    {
        string dir = Path.Combine(TempRoot, name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
