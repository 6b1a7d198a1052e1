using LoraLab.Experiments;

namespace LoraLab.Tests.Experiments;

public class InitNotebookSettingsTests
{
    [Fact]
    public void Every_profile_has_a_grid_of_widths_inits_and_powers_of_two()
    {
        foreach (var profile in new[] { "ci", "quick", "paper" })
        {
            var settings = InitNotebookSettings.For(profile);
            Assert.Equal(settings.Widths.Length * 2 * (settings.HighExponent - settings.LowExponent + 1), settings.ToyGrid.Count);
            Assert.All(settings.LearningRates, lr => Assert.Equal(Math.Round(Math.Log2(lr)), Math.Log2(lr)));
        }
        Assert.Throws<ArgumentException>(() => InitNotebookSettings.For("huge"));
    }
}
