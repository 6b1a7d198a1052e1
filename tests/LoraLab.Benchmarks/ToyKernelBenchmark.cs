// Notebook 01's toy run with its step computed by ToyLossKernel (the CPU default) and by libtorch's operations (in row
// blocks, as before the kernel), one run of each at each width, taking turns; then the toy sweep's grid one at a time
// as it ran before the kernel against the automatic mode a notebook gets. Printed as ratios from one process.
using System.Diagnostics;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Experiments;
using LoraLab.Lora;
using TorchSharp;

internal static class ToyKernelBenchmark
{
    public static int Run(int[] widths, int steps, int rounds, List<ToyConfig> grid, List<int> seeds, int workers)
    {
        Console.WriteLine($"One toy run per width and way (n_train 1000, r 4, Init[A], lr 2^-12, {steps} steps), {Math.Max(rounds, 2)} rounds, " +
                          $"each way's best; libtorch threads {torch.get_num_threads()}.");
        Console.WriteLine();
        Console.WriteLine($"{"width",8} {"libtorch s",11} {"kernel s",9} {"speed-up",9}");
        ToyConfig Config(int n) => new(n, LoraInit.InitA_Gaussian, Math.Pow(2, -12), steps, 4, 4.0, 1000, 100, 2, 0.5);
        // Warm-up, untimed: the JIT compiles a hot method again, optimized, only after it has run for a while, and the
        // first width's two rounds would otherwise time the kernel's first, unoptimized code (0.69x at n = 64 first in
        // line, 1.75x after another width).
        var warmUp = Stopwatch.StartNew();
        while (warmUp.Elapsed.TotalSeconds < 1)
            foreach (bool kernel in new[] { true, false })
                ToyLora.Train(Config(widths[0]), 0, null, torch.CPU, rowBlocks: null, kernel: kernel);
        foreach (int n in widths)
        {
            var config = Config(n);
            var (byTorch, byKernel) = (new List<double>(), new List<double>());
            for (int round = 0; round < Math.Max(rounds, 2); round++)
            {
                byTorch.Add(Seconds(() => ToyLora.Train(config, 0, null, torch.CPU, rowBlocks: null, kernel: false)));
                byKernel.Add(Seconds(() => ToyLora.Train(config, 0, null, torch.CPU, rowBlocks: null, kernel: true)));
            }
            Console.WriteLine($"{n,8} {byTorch.Min(),11:F2} {byKernel.Min(),9:F2} {byTorch.Min() / byKernel.Min(),8:F2}x" +
                              (n < ToyLossKernel.MinWidth ? $"   (below ToyLossKernel.MinWidth, {ToyLossKernel.MinWidth}: libtorch both times)" : ""));
        }
        Console.WriteLine("speed-up = libtorch's time / the kernel's, a whole run each; after the first run the task's frozen parts come from\n" +
                          "the process's cache (FrozenToyTask), so neither best time includes building them.");

        // The grid: as it ran before the kernel (one run at a time, each building its own task, libtorch's step), and as a
        // notebook runs it now (SweepRunner's automatic mode: the kernel, shared tasks, one worker process per core).
        Console.WriteLine();
        Console.WriteLine($"The toy sweep: {grid.Count * seeds.Count} runs (widths {string.Join(", ", widths)}; 2 inits × {grid.Count / (2 * widths.Length)} rates × {seeds.Count} seeds).");
        double before = Seconds(() =>
        {
            foreach (var c in grid)
                foreach (int seed in seeds)
                {
                    FrozenToyTask.Clear();
                    ToyLora.Train(c, seed, null, torch.CPU, rowBlocks: null, kernel: false);
                }
        });
        Console.WriteLine($"  one at a time, as before the kernel: {before:F1} s");
        string folder = Path.Combine(Path.GetTempPath(), $"loralab-bench-kernel-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        double now;
        try
        {
            using var store = new ResultsStore(Path.Combine(folder, "results.db"));
            var runner = new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null, Log = TextWriter.Null });
            FrozenToyTask.Clear();
            now = Seconds(() => runner.Run<ToyLora, ToyConfig>("bench-kernel", grid, seeds, new SweepParallelism(0, workers)));
        }
        finally { try { Directory.Delete(folder, recursive: true); } catch (IOException) { } }
        Console.WriteLine($"  automatic (the kernel, shared tasks, {workers} workers): {now:F1} s");
        Console.WriteLine($"speed-up of the sweep: {before / now:F2}x (the issue's target for the toy sweep: 5x)");
        return 0;
    }

    private static double Seconds(Action work)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var clock = Stopwatch.StartNew();
        work();
        return clock.Elapsed.TotalSeconds;
    }
}
