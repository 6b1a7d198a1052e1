using LoraLab.Training;

namespace LoraLab.Tests.Training;

public class EpochSamplerTests
{
    [Fact]
    public void Every_example_is_seen_once_per_epoch_and_a_batch_crossing_an_epoch_is_completed_from_the_next()
    {
        var sampler = new EpochSampler(count: 10, batchSize: 4, seed: 3);
        var drawn = Enumerable.Range(0, 5).SelectMany(_ => sampler.Next()).ToList();   // 20 = two epochs
        Assert.Equal(Enumerable.Range(0, 10), drawn.Take(10).Order());
        Assert.Equal(Enumerable.Range(0, 10), drawn.Skip(10).Order());
        Assert.NotEqual(drawn.Take(10), drawn.Skip(10));     // each epoch is reshuffled
    }

    [Fact]
    public void The_order_depends_on_the_seed_alone()
    {
        List<int> Draw(int seed) { var s = new EpochSampler(50, 8, seed); return Enumerable.Range(0, 6).SelectMany(_ => s.Next()).ToList(); }
        Assert.Equal(Draw(7), Draw(7));
        Assert.NotEqual(Draw(7), Draw(8));
    }

    [Fact]
    public void An_empty_training_split_is_rejected_naming_it()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new EpochSampler(0, 4, 0));
        Assert.Contains("training split is empty", e.Message);
    }
}
