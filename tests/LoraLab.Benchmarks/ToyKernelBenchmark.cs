// Notebook 01's toy run with its step computed by ToyLossKernel (the CPU default) and by libtorch's operations (in row
// blocks, as before the kernel), one run of each at each width, taking turns; printed as ratios from one process.
using System.Diagnostics;
using LoraLab.Experiments;
using LoraLab.Lora;
using TorchSharp;

internal static class ToyKernelBenchmark
{
    public static int Run(int[] widths, int steps, int rounds)
    {
        Console.WriteLine($"One toy run per width and way (n_train 1000, r 4, Init[A], lr 2^-12, {steps} steps), {Math.Max(rounds, 2)} rounds, " +
                          $"each way's best; libtorch threads {torch.get_num_threads()}.");
        Console.WriteLine();
        Console.WriteLine($"{"width",8} {"libtorch s",11} {"kernel s",9} {"speed-up",9}");
        foreach (int n in widths)
        {
            var config = new ToyConfig(n, LoraInit.InitA_Gaussian, Math.Pow(2, -12), steps, 4, 4.0, 1000, 100, 2, 0.5);
            double Time(bool kernel)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var clock = Stopwatch.StartNew();
                ToyLora.Train(config, 0, null, torch.CPU, rowBlocks: null, kernel: kernel);
                return clock.Elapsed.TotalSeconds;
            }
            var (byTorch, byKernel) = (new List<double>(), new List<double>());
            for (int round = 0; round < Math.Max(rounds, 2); round++)
            {
                byTorch.Add(Time(kernel: false));
                byKernel.Add(Time(kernel: true));
            }
            Console.WriteLine($"{n,8} {byTorch.Min(),11:F2} {byKernel.Min(),9:F2} {byTorch.Min() / byKernel.Min(),8:F2}x" +
                              (n < ToyLossKernel.MinWidth ? $"   (below ToyLossKernel.MinWidth, {ToyLossKernel.MinWidth}: libtorch both times)" : ""));
        }
        Console.WriteLine("speed-up = libtorch's time / the kernel's, a whole run each; after the first run the task's frozen parts come from\n" +
                          "the process's cache (FrozenToyTask), so neither best time includes building them.");
        return 0;
    }
}
