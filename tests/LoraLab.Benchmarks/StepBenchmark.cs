// ./lab bench: LoraLab on TorchSharp against Python PyTorch (reference.py), case by case, in one process on one machine.
//
// Each case exists twice, with the same shapes and operations: here on LoraLab and TorchSharp, and in reference.py in
// plain PyTorch. Both sides run with the same intra-op thread count, set explicitly (torch.set_num_threads on both;
// reference.py also gets OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS). After a warm-up (LoraLab: three runs
// of the case, a pause so that .NET's tiered JIT swaps in optimized code, three more; Python: three runs; the quick step
// one of each, after the step its setup takes on both sides), the two sides take turns:
// repetition r runs LoraLab then Python, repetition r + 1 Python then LoraLab, so a load that comes and goes on a shared
// machine hits both alike. Each side's time is the median of the repetitions, in wall-clock time per iteration; the
// table's ratio is LoraLab / PyTorch (below 1: LoraLab is faster). The same ratio in CPU time (each process's CPU time,
// all its threads) is printed beside it as a check: on a loaded machine wall time includes waiting for a core, CPU
// time does not.
//
// Every LoraLab iteration runs in its own dispose scope, as a training step does, so its temporaries are freed at once.
// Everything runs on the CPU (libtorch 2.10 from TorchSharp-cpu, with MKL, against the Python's torch: Debian's 1.13 here,
// whose matmuls run on the system's libblas.so.3; ./lab bench gives it OpenBLAS, see bench_python in lab). PyTorch's
// training steps zero gradients with set_to_none=True (its cheapest, and PyTorch 2's default) and run torch.optim.AdamW
// with foreach=False (the CPU default); LoraLab's optimizers zero their flat gradient buffer.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using LoraLab.BaseModels;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

/// <summary>One case of the table: what it measures, how to build LoraLab's side, what reference.py needs to build its own.</summary>
internal sealed record BenchCase(string Name, string What, int Threads, int Iterations, double? MaxRatio, string TargetText,
                                 Func<Workload> Build, JsonObject Spec);

/// <summary>
/// A built case: its phases, run in order once per iteration inside one dispose scope (a training step's zero_grad,
/// forward, backward, step; a single phase for the per-op cases), and what it says about itself.
/// </summary>
internal sealed class Workload
{
    public required (string name, Action action)[] Phases { get; init; }
    public JsonObject Info { get; init; } = new();

    public void Run(int n)
    {
        for (int i = 0; i < n; i++)
        {
            using var scope = torch.NewDisposeScope();
            foreach (var (_, action) in Phases) action();
        }
    }
}

internal sealed record StepOptions(int Threads, int[] QuickThreads, int Iterations, int Repeats, string[] Cases, bool Phases)
{
    public static readonly string[] AllCases = { "add", "chain", "mlp", "lora", "adamw", "quick" };
}

internal static class StepBenchmark
{
    public static int Run(StepOptions options)
    {
        string loadBefore = LoadAverage();
        var started = DateTime.Now;
        var cases = Cases(options).ToList();
        var pythons = new Dictionary<int, PythonReference?>();
        string? pythonProblem = null;
        PythonReference? Python(int threads)
        {
            if (pythons.TryGetValue(threads, out var p)) return p;
            try { p = PythonReference.Start(threads); }
            catch (PythonReferenceException e) { pythonProblem ??= e.Message; p = null; }
            return pythons[threads] = p;
        }

        var first = Python(cases[0].Threads);
        Console.WriteLine($"LoraLab on TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)} (libtorch {torch.__version__}) " +
                          $"against {(first is null ? "no Python" : $"PyTorch {first.Torch} (Python {first.PythonVersion}, {first.Python}; BLAS: {first.Blas})")}");
        Console.WriteLine($"{started:yyyy-MM-dd HH:mm}, {Environment.ProcessorCount} cores ({CpuModel()}), load average {loadBefore}; " +
                          $"median of {options.Repeats} repetitions after a warm-up, the two sides taking turns");
        if (first is null) Console.WriteLine($"  PyTorch side unavailable: {pythonProblem}");
        else if (first.Blas.StartsWith("netlib", StringComparison.Ordinal))
            Console.WriteLine("  Note: PyTorch runs its matmuls on netlib's reference BLAS here, several times slower than an optimized one; the matmul-bound " +
                              "cases flatter LoraLab (libtorch's MKL). ./lab bench gives the Python OpenBLAS (lab, bench_python).");
        Console.WriteLine();

        var rows = new List<Row>();
        int failures = 0;
        foreach (var c in cases)
        {
            Console.Write($"  {c.Name} ({c.Threads} thread{(c.Threads > 1 ? "s" : "")}) ...");
            try
            {
                var row = Measure(c, Python(c.Threads), options);
                rows.Add(row);
                Console.WriteLine($" LoraLab {Time(row.Ours.wall)}, PyTorch {(row.Theirs is { } t ? Time(t.wall) : $"n/a ({row.PythonError})")}");
            }
            catch (Exception e) when (e is ExternalException or ArgumentException or InvalidOperationException)
            {
                failures++;
                Console.WriteLine($" LoraLab failed: {e.Message.Split('\n')[0]}");
                rows.Add(new Row(c, (double.NaN, double.NaN), null, new JsonObject(), new JsonObject(), e.Message.Split('\n')[0], null, null));
            }
        }
        foreach (var p in pythons.Values) p?.Dispose();

        Report(rows, options, loadBefore);
        return failures > 0 ? 1 : 0;
    }

    private sealed record Row(BenchCase Case, (double wall, double cpu) Ours, (double wall, double cpu)? Theirs, JsonObject OurInfo, JsonObject TheirInfo,
                              string? PythonError, List<PhaseTime>? OurPhases, List<PhaseTime>? TheirPhases);

    internal sealed record PhaseTime(string Name, double WallUs, double TensorsCreated);

    private static Row Measure(BenchCase c, PythonReference? python, StepOptions options)
    {
        // Each case starts from a clean heap: the previous cases' garbage (TorchSharp tensors and scalars waiting for their
        // finalizers) would otherwise be collected, and its cost counted, during this one. Measured: the LoRA step ran at
        // 0.8x PyTorch's time on its own and 1.5x after the per-op cases.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        torch.set_num_threads(c.Threads);
        if (torch.get_num_threads() != c.Threads) throw new InvalidOperationException($"libtorch runs {torch.get_num_threads()} threads, not {c.Threads}");
        torch.manual_seed(0);
        var ours = c.Build();
        JsonObject theirInfo = new();
        string? pythonError = null;
        if (python is not null)
        {
            try { theirInfo = python.Setup(c.Name, c.Spec); }
            catch (PythonReferenceException e) { pythonError = e.Message; python = null; }
        }
        else pythonError = "no Python with torch";

        // Warm-up: both runtimes reach their steady state (.NET first runs tier-0 code and swaps in optimized code after a
        // delay; a notebook that trains for minutes runs the optimized code).
        int warmups = c.Name == "quick" ? 1 : 3;
        for (int i = 0; i < warmups; i++) ours.Run(c.Iterations);
        Thread.Sleep(200);
        for (int i = 0; i < warmups; i++) ours.Run(c.Iterations);
        if (python is not null)
            try { for (int i = 0; i < warmups; i++) python.Run(c.Name, c.Iterations); }
            catch (PythonReferenceException e) { pythonError = e.Message; python = null; }

        var oursWall = new List<double>();
        var oursCpu = new List<double>();
        var theirsWall = new List<double>();
        var theirsCpu = new List<double>();
        for (int r = 0; r < options.Repeats; r++)
        {
            bool pythonFirst = r % 2 == 1;
            if (pythonFirst) TryPython();
            var (wall, cpu) = TimeOurs(ours, c.Iterations);
            oursWall.Add(wall);
            oursCpu.Add(cpu);
            if (!pythonFirst) TryPython();
        }
        void TryPython()
        {
            if (python is null) return;
            try
            {
                var (wall, cpu) = python.Run(c.Name, c.Iterations);
                theirsWall.Add(wall);
                theirsCpu.Add(cpu);
            }
            catch (PythonReferenceException e) { pythonError = e.Message; python = null; }
        }

        List<PhaseTime>? ourPhases = null, theirPhases = null;
        if (options.Phases && ours.Phases.Length > 1)
        {
            // Taking turns again, one repetition at a time.
            var ourRuns = new List<List<PhaseTime>>();
            var theirRuns = new List<List<(string name, double wallUs)>>();
            for (int r = 0; r < options.Repeats; r++)
            {
                ourRuns.Add(PhaseTimes(ours, c.Iterations));
                if (python is null) continue;
                try { theirRuns.Add(python.Phases(c.Name, c.Iterations, 1)); }
                catch (PythonReferenceException e) { pythonError = e.Message; python = null; }
            }
            ourPhases = ourRuns[0].Select((p, i) => p with { WallUs = Median(ourRuns.Select(run => run[i].WallUs).ToList()) }).ToList();
            if (theirRuns.Count == options.Repeats)
                theirPhases = theirRuns[0].Select((p, i) => new PhaseTime(p.name, Median(theirRuns.Select(run => run[i].wallUs).ToList()), double.NaN)).ToList();
        }
        var theirs = theirsWall.Count == options.Repeats ? (Median(theirsWall), Median(theirsCpu)) : ((double, double)?)null;
        return new Row(c, (Median(oursWall), Median(oursCpu)), theirs, ours.Info, theirInfo, theirs is null ? pythonError ?? "failed" : null, ourPhases, theirPhases);
    }

    private static (double wall, double cpu) TimeOurs(Workload w, int n)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        w.Run(n);
        double wall = clock.Elapsed.TotalMicroseconds / n;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpu).TotalMicroseconds / n);
    }

    /// <summary>Each phase's wall time per iteration over <paramref name="n"/> iterations, and the managed tensors it
    /// creates per iteration (TorchSharp's count of tensor wrappers made: one per native call that returns a new tensor;
    /// in-place operations return their input and are not counted).</summary>
    private static List<PhaseTime> PhaseTimes(Workload w, int n)
    {
        var sums = new double[w.Phases.Length];
        var created = new long[w.Phases.Length];
        var stats = DisposeScopeManager.Statistics;
        for (int i = 0; i < n; i++)
        {
            using var scope = torch.NewDisposeScope();
            for (int p = 0; p < w.Phases.Length; p++)
            {
                long before = stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount;
                long start = Stopwatch.GetTimestamp();
                w.Phases[p].action();
                sums[p] += Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                created[p] += stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount - before;
            }
        }
        return w.Phases.Select((p, i) => new PhaseTime(p.name, sums[i] / n, (double)created[i] / n)).ToList();
    }

    private static void Report(List<Row> rows, StepOptions options, string loadBefore)
    {
        Console.WriteLine();
        Console.WriteLine($"{"case",-6} {"what",-61} {"thr",3} {"LoraLab",10} {"PyTorch",10} {"ratio",6} {"(cpu)",6}  {"target",-22}");
        foreach (var row in rows)
        {
            var c = row.Case;
            double? ratio = row.Theirs is { } t ? row.Ours.wall / t.wall : null;
            double? cpuRatio = row.Theirs is { } u ? row.Ours.cpu / u.cpu : null;
            string verdict = c.MaxRatio is not { } max ? c.TargetText
                           : ratio is not { } q ? $"{c.TargetText}: not measured"
                           : q <= max ? $"{c.TargetText}: met" : $"{c.TargetText}: MISSED";
            Console.WriteLine($"{c.Name,-6} {c.What,-61} {c.Threads,3} {Time(row.Ours.wall),10} {(row.Theirs is { } w ? Time(w.wall) : "n/a"),10} " +
                              $"{Text(ratio, "F2"),6} {Text(cpuRatio, "F2"),6}  {verdict}");
        }
        Console.WriteLine();
        Console.WriteLine("Times: wall clock per iteration (µs, or ms), median of the repetitions. ratio = LoraLab / PyTorch wall time (below 1: LoraLab");
        Console.WriteLine("is faster); (cpu) = the same ratio in process CPU time. thr = intra-op threads, set on both sides. Targets: the issue's,");
        Console.WriteLine("judged on the wall-time ratio; the per-op cases have none (they show the cost of the language boundary on tiny tensors).");
        string loadAfter = LoadAverage();
        Console.WriteLine($"Load average: {loadBefore} before, {loadAfter} after (1, 5, 15 min; {Environment.ProcessorCount} cores).");
        bool busy = new[] { loadBefore, loadAfter }.Any(l =>
            double.TryParse(l.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && x > Environment.ProcessorCount / 2.0);
        if (busy)
            Console.WriteLine("The machine was busy with other work: both sides lost time to it (they took turns, so the ratios suffer less than the\n" +
                              "times), but expect several percent of noise, and far more for cases with more threads than idle cores.");
        foreach (var row in rows.Where(r => r.Case.Name == "quick").Take(1))
            Console.WriteLine($"quick: LoraLab {Count(row.OurInfo["params"])} parameters in {Count(row.OurInfo["tensors"])} tensors, PyTorch " +
                              $"{Count(row.TheirInfo["params"])} in {Count(row.TheirInfo["tensors"])}; attention: LoraLab {row.OurInfo["attention"]}, PyTorch {row.TheirInfo["attention"] ?? "n/a"}; " +
                              $"first loss {Text(row.OurInfo["loss"]?.GetValue<double>(), "F4")} vs {Text(row.TheirInfo["loss"]?.GetValue<double>(), "F4")}.");
        foreach (var row in rows.Where(r => r.Case.Name is "lora" or "adamw").DistinctBy(r => r.Case.Name))
            Console.WriteLine($"{row.Case.Name}: LoraLab {Count(row.OurInfo["params"])} parameters ({Count(row.OurInfo["trainable"] ?? row.OurInfo["params"])} trained), " +
                              $"PyTorch {Count(row.TheirInfo["params"])} ({Count(row.TheirInfo["trainable"] ?? row.TheirInfo["params"])} trained).");
        foreach (var row in rows.Where(r => r.PythonError is not null).DistinctBy(r => r.PythonError))
            Console.WriteLine($"PyTorch side of {row.Case.Name}: {row.PythonError}");

        var withPhases = rows.Where(r => r.OurPhases is not null).ToList();
        if (withPhases.Count == 0) return;
        Console.WriteLine();
        Console.WriteLine("Phases (--phases): wall time per iteration of each phase (timed one by one, the sides taking turns; median of the");
        Console.WriteLine("repetitions), and the managed tensors LoraLab creates per iteration in it (one per native call that returns a new tensor).");
        foreach (var row in withPhases)
        {
            Console.WriteLine($"  {row.Case.Name} ({row.Case.Threads} thr):");
            foreach (var p in row.OurPhases!)
            {
                var theirs = row.TheirPhases?.FirstOrDefault(t => t.Name == p.Name);
                Console.WriteLine($"    {p.Name,-10} LoraLab {Time(p.WallUs),10} ({p.TensorsCreated,5:F0} tensors)   PyTorch {(theirs is null ? "n/a" : Time(theirs.WallUs)),10}" +
                                  $"   ratio {Text(theirs is null ? null : p.WallUs / theirs.WallUs, "F2")}");
            }
        }
    }

    // ---- the cases ----

    private static IEnumerable<BenchCase> Cases(StepOptions options)
    {
        int n = options.Iterations;
        foreach (var name in options.Cases)
        {
            switch (name)
            {
                case "add":
                    yield return new BenchCase("add", "c = a + b, 4 elements", options.Threads, n, null, "none (per-op)", AddCase, new JsonObject());
                    break;
                case "chain":
                    yield return new BenchCase("chain", "((a * b + a).relu()).sum(), 5 ops", options.Threads, n, null, "none (per-op)", ChainCase, new JsonObject());
                    break;
                case "mlp":
                    yield return new BenchCase("mlp", "2-layer MLP forward + backward, batch 16", options.Threads, Math.Max(1, n / 10), null, "none (per-op)", MlpCase, new JsonObject());
                    break;
                case "lora":
                    yield return new BenchCase("lora", $"LoRA step: frozen {LoraSpec.Features}x{LoraSpec.Features} Linear, r={LoraSpec.R}, AdamW LoRA+, batch {LoraSpec.Batch}",
                                               options.Threads, Math.Max(1, n / 20), 0.8, "<= 0.8x PyTorch", LoraCase, LoraSpec.Json());
                    break;
                case "adamw":
                    yield return new BenchCase("adamw", $"AdamW step over {AdamWSpec.Count} parameters of {AdamWSpec.Rows}x{AdamWSpec.Cols} (grads set)",
                                               options.Threads, Math.Max(1, n / 200), 0.8, "<= 0.8x PyTorch", AdamWCase, AdamWSpec.Json());
                    break;
                case "quick":
                    var p = BaseModelProfile.Quick;
                    foreach (int threads in options.QuickThreads)
                        yield return new BenchCase("quick", $"quick base train step: Llama {p.Model.hidden_size}x{p.Model.num_hidden_layers}, batch {p.BatchSize}x{p.ContextLength}, AdamW",
                                                   threads, 1, 0.5, "<= 0.5x (2x faster)", QuickCase, QuickSpec.Json());
                    break;
            }
        }
    }

    private static Workload AddCase()
    {
        var (a, b) = (torch.randn(4), torch.randn(4));
        return new Workload { Phases = new[] { ("add", (Action)(() => _ = a + b)) } };
    }

    private static Workload ChainCase()
    {
        var (a, b) = (torch.randn(4), torch.randn(4));
        return new Workload { Phases = new[] { ("chain", (Action)(() => _ = (a * b + a).relu().sum())) } };
    }

    private static Workload MlpCase()
    {
        var x = torch.randn(16, 32);
        var y = torch.randn(16, 1);
        var w1 = (torch.randn(64, 32) * 0.1).requires_grad_();
        var w2 = (torch.randn(1, 64) * 0.1).requires_grad_();
        return new Workload
        {
            Phases = new[]
            {
                ("mlp", (Action)(() =>
                {
                    var loss = F.mse_loss(F.linear(F.linear(x, w1).relu(), w2), y);
                    loss.backward();
                    w1.grad = null;
                    w2.grad = null;
                })),
            },
        };
    }

    /// <summary>The small LoRA step's shape and hyperparameters, shared with reference.py.</summary>
    private static class LoraSpec
    {
        public const int Features = 256, R = 8, Batch = 32;
        public const double Alpha = 16, Lr = 1e-3, LrRatio = 16, WeightDecay = 0.01;

        public static JsonObject Json() => new()
        {
            ["features"] = Features, ["r"] = R, ["alpha"] = Alpha, ["batch"] = Batch, ["lr"] = Lr, ["lr_ratio"] = LrRatio, ["weight_decay"] = WeightDecay,
        };
    }

    /// <summary>A model that is one Linear (with bias), in a field LoRA can put a LoraLinear in.</summary>
    private sealed class OneLinear : nn.Module<Tensor, Tensor>
    {
        public nn.Module<Tensor, Tensor> proj;

        public OneLinear(int features) : base(nameof(OneLinear))
        {
            proj = nn.Linear(features, features);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => proj.call(x);
    }

    // zero_grad, forward, backward, step: LoraLab's LoraLinear (Init[A]: B = 0, A kaiming-uniform), LoRA+ groups (A at lr,
    // B at 16·lr), LoraLab's AdamW. PyTorch: a hand-written LoRA layer, torch.optim.AdamW with the same two groups.
    private static Workload LoraCase()
    {
        var model = new OneLinear(LoraSpec.Features);
        LoraAdapters.Apply(model, new LoraConfig(r: LoraSpec.R, lora_alpha: LoraSpec.Alpha, target_modules: "proj"));
        var groups = LoraPlus.ParamGroups(model, LoraSpec.Lr, LoraSpec.LrRatio, LoraSpec.WeightDecay);
        if (groups.Count != 2) throw new InvalidOperationException($"LoRA+ made {groups.Count} groups, not 2 (A and B)");
        var optimizer = new AdamW(groups);
        var x = torch.randn(LoraSpec.Batch, LoraSpec.Features);
        var y = torch.randn(LoraSpec.Batch, LoraSpec.Features);
        Tensor? loss = null;
        return new Workload
        {
            Phases = new[]
            {
                ("zero_grad", (Action)optimizer.zero_grad),
                ("forward", () => loss = F.mse_loss(model.call(x), y)),
                ("backward", () => loss!.backward()),
                ("step", optimizer.step),
            },
            Info = new JsonObject { ["params"] = LoraLab.Modules.ModuleExtensions.num_parameters(model), ["trainable"] = LoraLab.Modules.ModuleExtensions.num_parameters(model, trainableOnly: true) },
        };
    }

    private static class AdamWSpec
    {
        public const int Count = 100, Rows = 64, Cols = 64;
        public const double Lr = 1e-3, WeightDecay = 0.01;

        public static JsonObject Json() => new() { ["count"] = Count, ["rows"] = Rows, ["cols"] = Cols, ["lr"] = Lr, ["weight_decay"] = WeightDecay };
    }

    // The gradients are set once; each iteration is one step (LoraLab: on its flat buffers, PyTorch: foreach=False, its
    // default on the CPU).
    private static Workload AdamWCase()
    {
        var parameters = Enumerable.Range(0, AdamWSpec.Count).Select(_ => new TorchSharp.Modules.Parameter(torch.randn(AdamWSpec.Rows, AdamWSpec.Cols))).ToList();
        foreach (var p in parameters) p.grad = torch.randn_like(p);
        var optimizer = new AdamW(parameters, lr: AdamWSpec.Lr, weight_decay: AdamWSpec.WeightDecay);
        return new Workload
        {
            Phases = new[] { ("step", (Action)optimizer.step) },
            Info = new JsonObject { ["params"] = parameters.Sum(p => p.numel()), ["tensors"] = parameters.Count },
        };
    }

    /// <summary>The quick base's training step: BaseModelProfile.Quick's model, batch and context, and its optimizer
    /// (PretrainedBase: AdamW over every parameter, β2 = 0.95, the profile's lr and weight decay), float32 on the CPU.</summary>
    private static class QuickSpec
    {
        public static JsonObject Json()
        {
            var p = BaseModelProfile.Quick;
            var c = p.Model;
            return new JsonObject
            {
                ["config"] = new JsonObject
                {
                    ["hidden_size"] = c.hidden_size, ["num_hidden_layers"] = c.num_hidden_layers, ["num_attention_heads"] = c.num_attention_heads,
                    ["num_key_value_heads"] = c.key_value_heads, ["intermediate_size"] = c.intermediate_size, ["vocab_size"] = c.vocab_size,
                    ["rms_norm_eps"] = c.rms_norm_eps, ["rope_theta"] = c.rope_theta, ["tie_word_embeddings"] = c.tie_word_embeddings,
                    ["initializer_range"] = c.initializer_range,
                },
                ["batch"] = p.BatchSize, ["context"] = p.ContextLength, ["lr"] = p.LearningRate, ["weight_decay"] = p.WeightDecay,
                ["beta1"] = 0.9, ["beta2"] = 0.95,
            };
        }
    }

    private static Workload QuickCase()
    {
        var p = BaseModelProfile.Quick;
        var model = new LlamaForCausalLM(p.Model);
        var parameters = model.parameters().ToList();
        var optimizer = new AdamW(parameters, lr: p.LearningRate, weight_decay: p.WeightDecay, beta2: 0.95);
        var ids = torch.randint(p.Model.vocab_size, new long[] { p.BatchSize, p.ContextLength });
        Tensor? loss = null;
        var w = new Workload
        {
            Phases = new[]
            {
                ("zero_grad", (Action)optimizer.zero_grad),
                ("forward", () => loss = model.Loss(ids)),
                ("backward", () => loss!.backward()),
                ("step", optimizer.step),
            },
            Info = new JsonObject { ["params"] = parameters.Sum(t => t.numel()), ["tensors"] = parameters.Count, ["attention"] = "sdpa (libtorch 2.10)" },
        };
        double first;
        using (var scope = torch.NewDisposeScope())
        {
            foreach (var (_, action) in w.Phases) action();
            first = loss!.ToDouble();
        }
        w.Info["loss"] = first;
        return w;
    }

    // ---- helpers ----

    private static double Median(List<double> xs)
    {
        if (xs.Count == 0) return double.NaN;
        var s = xs.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static string Time(double us) =>
        !double.IsFinite(us) ? "n/a" : us >= 10_000 ? $"{us / 1000:F1} ms" : us >= 1000 ? $"{us / 1000:F2} ms" : $"{us:F1} µs";

    private static string Text(double? x, string format) => x is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    private static string Count(JsonNode? n) =>
        long.TryParse(n?.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v.ToString("N0", CultureInfo.InvariantCulture) : "n/a";

    private static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "n/a"; }
    }

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        }
        catch (IOException) { return "?"; }
    }
}
