// LoRA's dropout masks drawn by DropoutMasks (the CPU default: mt19937 and the mask in C#, one pass) against libtorch's
// draws (torch.rand from a generator with the same seed, then compare, convert and scale), the same masks either way:
// masks of a few sizes, then whole LoRA runs of notebook 03 (the tiny base, math, all seven projections, dropout 0.05),
// the two ways taking turns. Printed as ratios from one process.
using System.Diagnostics;
using LoraLab.Experiments;
using LoraLab.Lora;
using TorchSharp;
using static TorchSharp.torch;

internal static class DropoutBenchmark
{
    public const string Usage = """
        usage: ./lab bench dropout [--sizes N,N,...] [--steps N] [--rounds N]

        ./lab bench dropout: LoRA's dropout masks as LoraLab draws them on the CPU against libtorch's way, the same masks:
          --sizes L    mask sizes in elements (default 100000,1000000: notebook 03's math runs draw about 1.8 million
                       a step on the tiny base)
          --steps N    steps of each whole run (default 40)
          --rounds N   rounds, the two ways taking turns; each way's best counts (default 3)
        """;

    public sealed record Options(int[] Sizes, int Steps, int Rounds);

    public static Options Parse(string[] args)
    {
        var o = new Options(new[] { 100_000, 1_000_000 }, 40, 3);
        var seen = new HashSet<string>();
        var reader = new ArgumentReader(args);
        while (reader.Next() is { } arg)
        {
            if (!arg.StartsWith('-')) throw new UsageException($"unknown argument '{arg}' (./lab bench dropout takes options)");
            if (!seen.Add(reader.Name)) throw new UsageException($"{reader.Name} is given twice");
            o = reader.Name switch
            {
                "--sizes" => o with { Sizes = reader.PositiveInts(max: 100_000_000) },
                "--steps" => o with { Steps = reader.PositiveInt(max: 100_000) },
                "--rounds" => o with { Rounds = reader.PositiveInt(max: 1000) },
                _ => throw new UsageException($"unknown option '{reader.Name}'"),
            };
        }
        return o;
    }

    public static int Run(Options o)
    {
        torch.set_num_threads(1);
        Console.WriteLine($"Dropout masks (p 0.05, float32, one libtorch thread), {o.Rounds} rounds of 20 masks, each way's best per mask:");
        Console.WriteLine($"{"elements",12} {"libtorch ms",12} {"LoraLab ms",11} {"speed-up",9}  same masks");
        foreach (int size in o.Sizes)
        {
            long[] shape = [size];
            var (byTorch, byUs) = (Streams(libtorch: true), Streams(libtorch: false));
            var (torchTimes, ourTimes) = (new List<double>(), new List<double>());
            bool same = true;
            for (int round = 0; round < Math.Max(o.Rounds, 2); round++)     // the first round also warms the JIT
            {
                torchTimes.Add(Milliseconds(() => { for (int i = 0; i < 20; i++) byTorch.Next(shape, ScalarType.Float32, torch.CPU).Dispose(); }) / 20);
                ourTimes.Add(Milliseconds(() => { for (int i = 0; i < 20; i++) byUs.Next(shape, ScalarType.Float32, torch.CPU).Dispose(); }) / 20);
                using var theirs = byTorch.Next(shape, ScalarType.Float32, torch.CPU);
                using var ours = byUs.Next(shape, ScalarType.Float32, torch.CPU);
                same &= theirs.ne(ours).sum().item<long>() == 0;
            }
            Console.WriteLine($"{size,12:N0} {torchTimes.Min(),12:F2} {ourTimes.Min(),11:F2} {torchTimes.Min() / ourTimes.Min(),8:F2}x  {(same ? "yes" : "NO")}");
        }

        // Whole runs: notebook 03's math LoRA recipe on the tiny base, a layer's masks drawn each way in turn.
        var data = DomainFinetune.Data("tiny", 160, 32);
        var config = new DomainFinetuneConfig(domain: FinetuneDomain.Math, method: FinetuneMethod.Lora, r: 4, lora_alpha: 8, lora_dropout: 0.05,
            target_modules: "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", optim: "lion", learning_rate: 0.01, beta1: 0.9, beta2: 0.95,
            weight_decay: 0, max_grad_norm: 1, max_steps: o.Steps, batch_size: 8, warmup_ratio: 0.1, cooldown_ratio: 0, alpha_f_decay: 0,
            min_lr_ratio: 0.01, base_model: data.Base.Report.Key, base_profile: "tiny", eval_windows: 4, math_train: 160, math_eval: 32, exact_match_problems: 0);
        Console.WriteLine();
        Console.WriteLine($"Whole runs: notebook 03's math LoRA on the tiny base (r 4, all seven projections, dropout 0.05, {o.Steps} steps, batch 8):");
        var (torchRuns, ourRuns) = (new List<double>(), new List<double>());
        var losses = new HashSet<double>();
        for (int round = 0; round < Math.Max(o.Rounds, 2); round++)
            foreach (bool libtorch in new[] { true, false })
            {
                DropoutMasks.LibtorchDrawsOnCpu = libtorch;
                try
                {
                    double loss = double.NaN;
                    double seconds = Milliseconds(() => loss = DomainFinetune.Train(config, 0, null).FinalMetrics["train_loss"]) / 1000;
                    (libtorch ? torchRuns : ourRuns).Add(seconds);
                    losses.Add(loss);
                }
                finally { DropoutMasks.LibtorchDrawsOnCpu = false; }
            }
        Console.WriteLine($"  libtorch's masks {torchRuns.Min():F2} s, LoraLab's {ourRuns.Min():F2} s: {torchRuns.Min() / ourRuns.Min():F2}x; " +
                          $"the same final train loss every run: {(losses.Count == 1 ? "yes" : "NO")}");
        return 0;
    }

    private static DropoutMasks Streams(bool libtorch)
    {
        DropoutMasks.LibtorchDrawsOnCpu = libtorch;
        try { return new DropoutMasks(0.05, 20241205, torch.CPU); }
        finally { DropoutMasks.LibtorchDrawsOnCpu = false; }
    }

    private static double Milliseconds(Action work)
    {
        var clock = Stopwatch.StartNew();
        work();
        return clock.Elapsed.TotalMilliseconds;
    }
}
