using System.Text.Json;
using LoraLab.Data;
using LoraLab.Data.Results;

namespace LoraLab.Tests.Notebooks;

/// <summary>
/// Notebook 04 as a user runs it: the built `lab` command on the ci profile in a child process. Needs `./lab build`
/// (the CLI); takes a minute or two on 2 cores.
/// </summary>
public class Notebook04Tests
{
    [Fact]
    public void A_shard_of_the_ci_profile_trains_part_of_both_sweeps_into_the_given_store_and_draws_nothing()
    {
        string folder = TestSupport.TempDir("nb04-shard");
        string storePath = Path.Combine(folder, "shard.db");
        var (exitCode, output) = LabCommand.Run("run", "notebooks/04-rank-analysis.ipynb", "--profile", "ci",
                                            "--param", "shard=1/2", "--param", $"store_path={storePath}", "--out", folder, "--skip-tag", "figures");
        Assert.True(exitCode == 0, $"lab run exited with {exitCode}:\n{output}");

        using var store = new ResultsStore(storePath);
        var spectra = store.Runs("04-rank-spectra");
        var ntk = store.Runs("04-rank-ntk");
        Assert.NotEmpty(ntk);
        Assert.All(spectra.Concat(ntk), run => Assert.Equal(RunStatus.Done, run.Status));
        // The ci grids have 4 part-1 runs and 6 convex + 72 LoRA part-2 runs; half of them, give or take, belong to shard 1/2.
        Assert.True(spectra.Count < 4 && ntk.Count < 78, $"shard 1/2 ran {spectra.Count} and {ntk.Count} runs: not a part of the grids");

        using var executed = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "04-rank-analysis.ipynb")));
        var found = executed.RootElement.GetProperty("cells").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "found");
        Assert.Equal(0, found.GetProperty("outputs").GetArrayLength());
    }
}
