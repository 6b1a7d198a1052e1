using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Experiments;
using LoraLab.Lora;

namespace LoraLab.Tests.Experiments;

/// <summary>Notebook 01's toy runs, one at a time and as one ensemble: the same results, member by member.</summary>
public class ToyLoraTests
{
    private static ToyConfig Config(LoraInit init, double lr, int n = 16) =>
        new(n, init, lr, max_steps: 40, r: 2, lora_alpha: 2, n_train: 64, n_test: 16, planted_rank: 1, delta_scale: 0.5, log_every: 5);

    private static readonly (ToyConfig config, int seed)[] Members =
    {
        (Config(LoraInit.InitA_Gaussian, 1e-2), 0),
        (Config(LoraInit.InitB_Gaussian, 3e-3), 1),
        (Config(LoraInit.InitA_KaimingUniform, 3e-2), 2),
        (Config(LoraInit.InitB_KaimingUniform, 1e-3), 0),
    };

    private static double Relative(double a, double b) => Math.Abs(a - b) / Math.Max(Math.Abs(b), 1e-12);

    [Fact]
    public void A_sweep_ensembles_toy_runs_on_a_gpu_but_not_on_the_cpu_where_they_were_measured_slower()
    {
        var wide = Config(LoraInit.InitA_Gaussian, 1e-2, n: 1024);
        Assert.Equal(1, ToyLora.MaxEnsembleSize(wide, TorchSharp.DeviceType.CPU));
        Assert.Equal(1, ToyLora.MaxEnsembleSize(Config(LoraInit.InitA_Gaussian, 1e-2, n: 64), TorchSharp.DeviceType.CPU));
        int onGpu = ToyLora.MaxEnsembleSize(wide, TorchSharp.DeviceType.CUDA);
        Assert.InRange(onGpu, 2, 64);
        Assert.True(ToyLora.MaxEnsembleSize(Config(LoraInit.InitA_Gaussian, 1e-2, n: 64), TorchSharp.DeviceType.CUDA) >= onGpu, "narrower runs fit more members");
    }

    [Fact]
    public void A_wide_run_computed_in_row_blocks_trains_as_the_full_batch_does()
    {
        Assert.Equal(1, ToyLora.RowBlocks(1000, 64));
        Assert.Equal(2, ToyLora.RowBlocks(1000, 512));
        Assert.Equal(4, ToyLora.RowBlocks(1000, 1024));
        Assert.Equal(0, 1000 % ToyLora.RowBlocks(1000, 4096));
        // 64 rows of width 8192: two blocks of 32, against one full batch.
        var wide = new ToyConfig(8192, LoraInit.InitA_Gaussian, 3e-3, max_steps: 10, r: 2, lora_alpha: 2, n_train: 64, n_test: 16,
                                 planted_rank: 1, delta_scale: 0.5, log_every: 5);
        Assert.Equal(2, ToyLora.RowBlocks(wide.n_train, wide.n));
        var blocked = ToyLora.Train(wide, 0, null, TorchSharp.torch.CPU, rowBlocks: null, kernel: false);
        var whole = ToyLora.Train(wide, 0, null, TorchSharp.torch.CPU, rowBlocks: 1, kernel: false);
        foreach (var metric in new[] { "train_loss", "eval_loss" })
            Assert.True(Relative(blocked.FinalMetrics[metric], whole.FinalMetrics[metric]) < 1e-4,
                        $"{metric}: {blocked.FinalMetrics[metric]} in blocks, {whole.FinalMetrics[metric]} as one batch");
    }

    [Fact]
    public void The_cached_forward_of_a_toy_run_is_the_models_own_forward()
    {
        // A run computes φ(W_in x) and W z once; its prediction from them must be ToyMlp.forward with the LoRA layer in.
        using var member = new ToyLora.Member(Config(LoraInit.InitA_Gaussian, 1e-2, n: 32), seed: 0, TorchSharp.torch.CPU);
        using (TorchSharp.torch.no_grad()) member.lora.lora_B.normal_(0, 1);          // both factors non-zero, as after training
        double gap = TestSupport.MaxAbsDiff(member.Predict(member.z_train, member.wz_train), member.model.call(member.x_train));
        Assert.True(gap < 1e-5, $"the cached forward differs from ToyMlp.forward by {gap}");
    }

    [Fact]
    public void An_ensemble_of_toy_runs_reproduces_each_run_trained_alone()
    {
        var alone = Members.Select(m => ToyLora.Train(m.config, m.seed, null)).ToList();
        var together = ToyLora.TrainEnsemble(Members.Select(m => (m.config, m.seed, (RunContext?)null)).ToList());
        Assert.Equal(Members.Length, together.Count);
        for (int e = 0; e < Members.Length; e++)
        {
            Assert.Equal(alone[e].Status, together[e].Status);
            // Batched products and per-element rates round differently from single ones: float32's tolerance, not bitwise.
            foreach (var metric in new[] { "train_loss", "eval_loss", "steps" })
                Assert.True(Relative(together[e].FinalMetrics[metric], alone[e].FinalMetrics[metric]) < 1e-4,
                            $"member {e}: {metric} {together[e].FinalMetrics[metric]} together, {alone[e].FinalMetrics[metric]} alone");
        }
    }

    [Fact]
    public void A_member_that_diverges_is_stopped_and_recorded_and_the_others_numbers_do_not_change()
    {
        var calm = new[] { Members[0], Members[1] };
        var wild = (config: Config(LoraInit.InitB_Gaussian, 50.0), seed: 3);
        var without = ToyLora.TrainEnsemble(calm.Select(m => (m.config, m.seed, (RunContext?)null)).ToList());
        var with = ToyLora.TrainEnsemble(new[] { calm[0], wild, calm[1] }.Select(m => (m.config, m.seed, (RunContext?)null)).ToList());
        Assert.Equal(RunStatus.Diverged, with[1].Status);
        Assert.True(with[1].FinalMetrics["steps"] < wild.config.max_steps, "the diverged member stops at its divergence");
        Assert.Equal(RunStatus.Done, with[0].Status);
        Assert.Equal(RunStatus.Done, with[2].Status);
        foreach (var metric in new[] { "train_loss", "eval_loss" })
        {
            Assert.Equal(without[0].FinalMetrics[metric], with[0].FinalMetrics[metric]);
            Assert.Equal(without[1].FinalMetrics[metric], with[2].FinalMetrics[metric]);
        }
    }

    [Fact]
    public void A_sweep_in_ensembles_stores_the_same_runs_as_one_at_a_time_and_skips_them_the_second_time()
    {
        string folder = TestSupport.TempDir("toy-ensembles");
        using var store = new ResultsStore(Path.Combine(folder, "results.db"));
        var configs = new[] { Config(LoraInit.InitA_Gaussian, 1e-2), Config(LoraInit.InitB_Gaussian, 1e-2), Config(LoraInit.InitA_Gaussian, 1e-2, n: 8) };
        var runner = new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null });
        var summary = runner.RunEnsembles("toy", configs, new[] { 0, 1 }, c => c.Shape, ensembleSize: 3,
            runs => ToyLora.TrainEnsemble(runs.Select(x => (x.config, x.seed, (RunContext?)x.context)).ToList()));
        Assert.Equal(6, summary.Done + summary.Diverged);
        var runs = store.Grid("toy", configs, new[] { 0, 1 });
        Assert.Equal(6, runs.Count);
        Assert.All(runs, r => Assert.NotEqual(RunStatus.Failed, r.Status));
        Assert.All(runs, r => Assert.True(store.MetricSeries(r.RunId, "norm_A").Count > 0, "the series are stored per member"));
        // The config hashes are those of the serial path: running it now finds everything done.
        var again = runner.Run("toy", configs, new[] { 0, 1 }, (c, s, ctx) => ToyLora.Train(c, s, ctx));
        Assert.Equal(6, again.AlreadyFinished);
    }

    [Fact]
    public void A_task_sweep_over_two_worker_processes_trains_every_run_once_into_one_store()
    {
        string lab = Path.Combine(LoraLab.Data.DataRoot.RepositoryRoot(), "lib", "LoraLab.Cli", "bin", "Release", "net10.0", "lab.dll");
        Assert.True(File.Exists(lab), $"{lab} is missing: run ./lab build first");
        string folder = TestSupport.TempDir("toy-workers");
        using var store = new ResultsStore(Path.Combine(folder, "results.db"));
        var configs = new[] { 8, 12 }.SelectMany(n => new[] { 1e-3, 1e-2, 3e-2 }.Select(lr => Config(LoraInit.InitA_Gaussian, lr, n))).ToList();
        var runner = new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null, Log = TextWriter.Null });
        var summary = runner.Run<ToyLora, ToyConfig>("toy-workers", configs, new[] { 0, 1 }, new SweepParallelism(EnsembleSize: 3, Workers: 2));
        Assert.Equal(12, summary.Done + summary.Diverged);
        var runs = store.Runs("toy-workers");
        Assert.Equal(12, runs.Count);                                          // no run trained twice
        Assert.All(runs, r => Assert.NotEqual(RunStatus.Failed, r.Status));
        Assert.True(File.Exists(SweepLog.PathOf("toy-workers.worker1")), "the second worker wrote its log");
        // The same results as the runs alone (a worker's ensembles, or a single run, round like the serial path).
        var alone = ToyLora.Train(configs[4], 1, null);
        var stored = store.Grid("toy-workers", new[] { configs[4] }, new[] { 1 }).Single();
        Assert.True(Relative(stored["train_loss"], alone.FinalMetrics["train_loss"]) < 1e-4);
    }
}
