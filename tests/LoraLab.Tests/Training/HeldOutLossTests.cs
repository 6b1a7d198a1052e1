using LoraLab.Lora;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;
using LoraLab.Training;

namespace LoraLab.Tests.Training;

public class HeldOutLossTests
{
    private static int[] Stream(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => random.Next(48)).ToArray();
    }

    [Fact]
    public void Forgetting_metric_at_step_0_equals_the_base_models()
    {
        torch.manual_seed(7);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        var tokens = Stream(1000, seed: 1);
        var before = HeldOutLoss.Evaluate(model, tokens, contextLength: 16, batchSize: 4);
        // LoRA with B = 0 (and dropout, which eval mode switches off) leaves the function unchanged before training.
        LoraAdapters.Apply(model, new LoraConfig(r: 4, lora_alpha: 8, lora_dropout: 0.05, target_modules: LoraConfig.AllLinear));
        var after = HeldOutLoss.Evaluate(model, tokens, contextLength: 16, batchSize: 4);
        Assert.Equal(before.Loss, after.Loss, 6);
        Assert.Equal(before.Predictions, after.Predictions);
        Assert.True(before.Loss > 0);
    }

    [Fact]
    public void Held_out_loss_is_the_mean_over_every_prediction_of_the_first_windows()
    {
        torch.manual_seed(8);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        var tokens = Stream(500, seed: 2);
        var result = HeldOutLoss.Evaluate(model, tokens, contextLength: 10, batchSize: 3, maxWindows: 7);
        Assert.Equal(7 * 9, result.Predictions);

        // Reference: window by window, each weighted by its 9 predictions (all equal), so a plain mean.
        double sum = 0;
        model.eval();
        using (torch.no_grad())
            for (int w = 0; w < 7; w++)
            {
                using var scope = torch.NewDisposeScope();
                var window = tokens.Skip(w * 10).Take(10).Select(t => (long)t).ToArray();
                sum += model.Loss(torch.tensor(window, new long[] { 1, 10 })).ToDouble();
            }
        Assert.Equal(sum / 7, result.Loss, 5);
        Assert.Equal(Math.Exp(result.Loss), result.Perplexity, 9);
    }

    [Fact]
    public void A_stream_shorter_than_one_window_is_rejected()
    {
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        Assert.Throws<ArgumentException>(() => HeldOutLoss.Evaluate(model, Stream(5, 3), contextLength: 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => HeldOutLoss.Evaluate(model, Stream(500, 3), contextLength: 64));
    }
}
