// How many runs a second a sweep trains: one at a time, as ensembles, over worker processes, and both, for notebook 01's
// toy sweep at the quick profile's sizes; printed as ratios against one-at-a-time, measured in the same process.
using System.Diagnostics;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Experiments;
using LoraLab.Lora;
using TorchSharp;

internal static class SweepBenchmark
{
    public const string Usage = """
        usage: ./lab bench sweep [--widths N,N,...] [--rates K] [--seeds K] [--steps N] [--workers N]

        ./lab bench sweep: runs per second of notebook 01's toy sweep (its quick profile's shapes: n_train 1000, r 4),
        trained one run at a time, as ensembles (runs of one width as one model), over worker processes, and both;
        ratios against one run at a time. Each mode trains the same grid into a fresh results store.
          --widths L    widths n of the grid (default 64,256,1024)
          --rates K     learning rates per (width, init), powers of 2 from 2^-12 (default 4)
          --seeds K     seeds (default 2)
          --steps N     full-batch Adam steps per run (default 300, the quick profile's)
          --workers N   worker processes of the parallel modes (default: the machine's cores)
        """;

    public sealed record Options(int[] Widths, int Rates, int Seeds, int Steps, int Workers);

    public static Options Parse(string[] args)
    {
        var o = new Options(new[] { 64, 256, 1024 }, 4, 2, 300, Environment.ProcessorCount);
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            int Positive(string name, string text) =>
                int.TryParse(text, out int v) && v > 0 ? v : throw new UsageException($"{name} must be a positive whole number, got '{text}'");
            o = args[i] switch
            {
                "--widths" => o with { Widths = Value().Split(',').Select(w => Positive("--widths", w)).ToArray() },
                "--rates" => o with { Rates = Positive("--rates", Value()) },
                "--seeds" => o with { Seeds = Positive("--seeds", Value()) },
                "--steps" => o with { Steps = Positive("--steps", Value()) },
                "--workers" => o with { Workers = Positive("--workers", Value()) },
                _ => throw new UsageException($"unknown option '{args[i]}' of ./lab bench sweep"),
            };
        }
        return o;
    }

    public static int Run(Options o)
    {
        var configs = (from n in o.Widths
                       from init in new[] { LoraInit.InitA_Gaussian, LoraInit.InitB_Gaussian }
                       from k in Enumerable.Range(0, o.Rates)
                       select new ToyConfig(n, init, Math.Pow(2, -12 + 2 * k), o.Steps, 4, 4.0, 1000, 100, 2, 0.5)).ToList();
        var seeds = Enumerable.Range(0, o.Seeds).ToList();
        int runs = configs.Count * seeds.Count;
        Console.WriteLine($"Notebook 01's toy sweep: {runs} runs (widths {string.Join(", ", o.Widths)}; 2 inits × {o.Rates} rates × {o.Seeds} seeds; " +
                          $"{o.Steps} steps, n_train 1000, r 4); {Environment.ProcessorCount} cores, libtorch threads {torch.get_num_threads()} in this process.");
        var modes = new (string name, SweepParallelism parallelism)[]
        {
            ("one at a time", SweepParallelism.Serial),
            ("ensembles", new SweepParallelism(0, 1)),
            ($"{o.Workers} workers", new SweepParallelism(1, o.Workers)),
            ($"ensembles, {o.Workers} workers", new SweepParallelism(0, o.Workers)),
        };
        var seconds = new List<double>();
        foreach (var (name, parallelism) in modes)
        {
            Console.Write($"  {name} ...");
            string folder = Path.Combine(Path.GetTempPath(), $"loralab-bench-sweep-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(folder);
            try
            {
                using var store = new ResultsStore(Path.Combine(folder, "results.db"));
                var runner = new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null, Log = TextWriter.Null });
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var clock = Stopwatch.StartNew();
                var summary = runner.Run<ToyLora, ToyConfig>("bench-toy", configs, seeds, parallelism);
                seconds.Add(clock.Elapsed.TotalSeconds);
                Console.WriteLine($" {seconds[^1]:F1} s ({summary.Done} done, {summary.Diverged} diverged, {summary.Failed} failed)");
            }
            finally { try { Directory.Delete(folder, recursive: true); } catch (IOException) { } }
        }
        Console.WriteLine();
        Console.WriteLine($"{"mode",-26} {"seconds",8} {"runs/s",8} {"speed-up",9}");
        for (int i = 0; i < modes.Length; i++)
            Console.WriteLine($"{modes[i].name,-26} {seconds[i],8:F1} {runs / seconds[i],8:F2} {seconds[0] / seconds[i],8:F2}x");
        Console.WriteLine("speed-up = one-at-a-time's time / the mode's (the issue's target for the toy sweep: 5x).");
        return 0;
    }
}
