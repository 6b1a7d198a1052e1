using LoraLab.Data.Results;
using LoraLab.Experiments;
using LoraLab.Lora;
using LoraLab.Models;
using TorchSharp;

namespace LoraLab.Tests.Experiments;

/// <summary>Toy runs share their task's frozen parts through a cache: a run built on it is the run built from scratch.</summary>
public class FrozenToyTaskTests
{
    private static ToyConfig Config(LoraInit init, double lr, int n = 24) =>
        new(n, init, lr, max_steps: 30, r: 2, lora_alpha: 2, n_train: 40, n_test: 8, planted_rank: 1, delta_scale: 0.5, log_every: 5);

    [Theory]
    [InlineData(LoraInit.InitA_Gaussian)]
    [InlineData(LoraInit.InitB_Gaussian)]
    public void A_run_on_a_cached_task_draws_the_lora_factors_and_sees_the_data_of_a_task_built_from_scratch(LoraInit init)
    {
        var c = Config(init, 1e-2, n: 20);
        using (new ToyLora.Member(c with { n = 21 }, 7, torch.CPU)) { }      // another task in the cache, its draws in between
        using var first = new ToyLora.Member(c, 7, torch.CPU);
        using var again = new ToyLora.Member(c, 7, torch.CPU);            // the same task, from the cache
        // From scratch: the task, then LoRA on its student, as a run did before tasks were shared.
        using var task = new TeacherStudentTask(c.d, c.n, c.planted_rank, c.delta_scale * Math.Sqrt((double)c.n / c.planted_rank), c.n_train, c.n_test, 7);
        LoraAdapters.Apply(task.student, new LoraConfig(r: c.r, lora_alpha: c.lora_alpha, target_modules: "hidden", init: init));
        var scratch = LoraAdapters.Layers(task.student).Single().layer;
        foreach (var member in new[] { first, again })
        {
            Assert.Equal(0, TestSupport.MaxAbsDiff(member.lora.lora_A, scratch.lora_A));      // A as drawn from scratch
            Assert.Equal(0, TestSupport.MaxAbsDiff(member.lora.lora_B, scratch.lora_B));      // B as drawn from scratch
            Assert.Equal(0, TestSupport.MaxAbsDiff(member.y_train, task.y_train));            // the teacher's targets
            Assert.Equal(0, TestSupport.MaxAbsDiff(member.x_train, task.x_train));            // the inputs
        }
        var randomFactor = init == LoraInit.InitA_Gaussian ? scratch.lora_A : scratch.lora_B;
        Assert.True(randomFactor.abs().sum().ToDouble() > 0, "the random factor is drawn: the comparison sees the draws");
    }

    [Fact]
    public void A_run_trained_again_on_its_cached_task_gives_bitwise_the_same_numbers()
    {
        var c = Config(LoraInit.InitA_Gaussian, 1e-2);
        var first = ToyLora.Train(c, 3, null);
        ToyLora.Train(c with { init = LoraInit.InitB_Gaussian }, 4, null);           // other draws in between
        var again = ToyLora.Train(c, 3, null);
        foreach (var metric in new[] { "train_loss", "eval_loss" })
            Assert.Equal(first.FinalMetrics[metric], again.FinalMetrics[metric]);
    }

    [Fact]
    public void An_ensemble_of_more_tasks_than_the_cache_holds_trains_as_its_runs_alone()
    {
        // Six seeds, with a budget that keeps only the newest task: more tasks than the cache keeps, all in use at once
        // while the ensemble stacks them.
        var runs = Enumerable.Range(10, 6).Select(seed => (config: Config(LoraInit.InitA_Gaussian, 1e-2), seed)).ToList();
        long budget = FrozenToyTask.BudgetBytes;
        FrozenToyTask.BudgetBytes = 1;
        List<Data.Sweeps.RunOutcome> together, alone;
        try
        {
            together = ToyLora.TrainEnsemble(runs.Select(x => (x.config, x.seed, (Data.Sweeps.RunContext?)null)).ToList()).ToList();
            alone = runs.Select(x => ToyLora.Train(x.config, x.seed, null)).ToList();
        }
        finally { FrozenToyTask.BudgetBytes = budget; }
        for (int e = 0; e < runs.Count; e++)
        {
            Assert.Equal(RunStatus.Done, together[e].Status);
            double relative = Math.Abs(together[e].FinalMetrics["train_loss"] - alone[e].FinalMetrics["train_loss"]) / alone[e].FinalMetrics["train_loss"];
            Assert.True(relative < 1e-4, $"member {e}: {together[e].FinalMetrics["train_loss"]} together, {alone[e].FinalMetrics["train_loss"]} alone");
        }
    }
}
