using LoraLab.Analysis;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace LoraLab.Tests.Analysis;

public class FinetuneCheckpointsTests
{
    private sealed record Recipe(double learning_rate, int steps);

    // "Training" that sets the weight to the step number, so each checkpoint's content is known.
    private static Action<Action<long, nn.Module>> CountingTrain(List<int> calls, long last, Linear layer) => save =>
    {
        calls.Add(1);
        for (long step = 1; step <= last; step++)
        {
            using (torch.no_grad()) layer.weight.fill_(step);
            save(step, layer);
        }
    };

    [Fact]
    public void Checkpoints_are_saved_at_each_step_and_reloaded_without_training_again()
    {
        string cache = TestSupport.TempDir("checkpoints");
        using var layer = nn.Linear(3, 2, hasBias: false);
        var calls = new List<int>();
        var first = FinetuneCheckpoints.LoadOrTrain("toy", new Recipe(1e-3, 5), new long[] { 4, 2 }, CountingTrain(calls, 5, layer), cache);
        var again = FinetuneCheckpoints.LoadOrTrain("toy", new Recipe(1e-3, 5), new long[] { 2, 4 }, CountingTrain(calls, 5, layer), cache);
        Assert.Single(calls);
        Assert.Equal(first.Directory, again.Directory);
        Assert.Equal(new long[] { 2, 4 }, again.Steps);
        foreach (long step in again.Steps)
        {
            var state = again.Load(step);
            Assert.Equal((float)step, state["weight"].max().ToSingle());
            foreach (var t in state.Values) t.Dispose();
        }
        Assert.Throws<ArgumentException>(() => again.Load(3));
        var other = FinetuneCheckpoints.LoadOrTrain("toy", new Recipe(2e-3, 5), new long[] { 2, 4 }, CountingTrain(calls, 5, layer), cache);
        Assert.NotEqual(first.Directory, other.Directory);
        Assert.Equal(2, calls.Count);
        Assert.Empty(Directory.GetDirectories(Path.Combine(cache, "finetune"), "*.tmp-*"));
    }

    [Fact]
    public async Task Two_callers_at_once_train_the_run_once_and_both_get_its_checkpoints()
    {
        // Two worker processes of one sweep can ask for the same full-finetuning run at the same moment; each caller here
        // has its own layer (as each process would), and the training is slow enough for the second to arrive during it.
        string cache = TestSupport.TempDir("checkpoints-concurrent");
        int trainings = 0;
        FinetuneCheckpoints Ask()
        {
            using var layer = nn.Linear(3, 2, hasBias: false);
            return FinetuneCheckpoints.LoadOrTrain("toy", new Recipe(1e-3, 3), new long[] { 1, 3 }, save =>
            {
                Interlocked.Increment(ref trainings);
                Thread.Sleep(400);
                for (long step = 1; step <= 3; step++)
                {
                    using (torch.no_grad()) layer.weight.fill_(step);
                    save(step, layer);
                }
            }, cache, log: _ => { });
        }
        var both = await Task.WhenAll(Task.Run(Ask), Task.Run(Ask));
        Assert.Equal(1, trainings);
        Assert.Equal(both[0].Directory, both[1].Directory);
        var state = both[1].Load(3);
        Assert.Equal(3f, state["weight"].max().ToSingle());
        foreach (var t in state.Values) t.Dispose();
    }

    [Fact]
    public void A_truncated_checkpoint_is_reported_and_trained_again()
    {
        string cache = TestSupport.TempDir("checkpoints");
        using var layer = nn.Linear(3, 2, hasBias: false);
        var calls = new List<int>();
        var saved = FinetuneCheckpoints.LoadOrTrain("toy", new Recipe(1e-3, 3), new long[] { 3 }, CountingTrain(calls, 3, layer), cache);
        string file = Path.Combine(saved.Directory, "step-3.safetensors");
        File.WriteAllBytes(file, File.ReadAllBytes(file)[..20]);
        var messages = new List<string>();
        FinetuneCheckpoints.LoadOrTrain("toy", new Recipe(1e-3, 3), new long[] { 3 }, CountingTrain(calls, 3, layer), cache, messages.Add);
        Assert.Equal(2, calls.Count);
        Assert.Contains(messages, m => m.Contains("unusable"));
    }

    [Fact]
    public void A_training_that_skips_a_checkpoint_step_fails_and_leaves_no_cache()
    {
        string cache = TestSupport.TempDir("checkpoints");
        using var layer = nn.Linear(3, 2, hasBias: false);
        var error = Assert.Throws<InvalidOperationException>(() =>
            FinetuneCheckpoints.LoadOrTrain("toy", new Recipe(1e-3, 3), new long[] { 2, 9 }, CountingTrain(new List<int>(), 3, layer), cache));
        Assert.Contains("9", error.Message);
        Assert.Empty(Directory.GetDirectories(Path.Combine(cache, "finetune")));
    }
}
