// How many runs a second a sweep trains: one at a time, as ensembles, over worker processes, and both, for notebook 01's
// toy sweep or notebook 02's LoRA sweep at the quick profile's sizes; printed as ratios against one-at-a-time, measured
// in the same process, the modes taking turns round after round.
using System.Diagnostics;
using LoraLab.BaseModels;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Experiments;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

internal static class SweepBenchmark
{
    public const string Usage = """
        usage: ./lab bench sweep [--case toy|02] [--rates K] [--seeds K] [--steps N] [--workers N] [--rounds N]
                                 [--widths N,N,...] [--ensemble N] [--control] [--scan N,N,...] [--phases N,N,...] [--kernel]

        ./lab bench sweep: runs per second of a sweep trained one run at a time, as ensembles (runs of one shape as one
        model), over worker processes, and both; ratios against one run at a time. Each mode trains the same grid into a
        fresh results store; with --rounds the modes take turns, round after round, and each mode's median counts.
          --case toy    notebook 01's toy sweep (its quick profile's shapes: n_train 1000, r 4) (default)
          --case 02     notebook 02's LoRA sweep at its quick profile's sizes (the quick base model, spam, batch 16,
                        max length 40, 80 steps, r 8, dropout 0.1 on q_proj,v_proj): both inits × K of its 8 learning
                        rates, and LoRA+ (λ 16) × 2 of its rates, × the seeds
          --rates K     learning rates per (width or init) (default 4)
          --seeds K     seeds (default 2)
          --steps N     steps per run (default: the case's quick profile's, 300 and 80)
          --workers N   worker processes of the parallel modes (default: the machine's cores)
          --rounds N    rounds of the modes (default 1)
          --widths L    toy: widths n of the grid (default 64,256,1024)
          --ensemble N  runs per ensemble in the ensemble modes (default 8); the "automatic" mode is what a notebook gets
                        (on a CPU: no ensembles, one worker per core)
          --control     02: add the head-only control runs (they train alone, in ensembles of one)
          --scan L      instead of the modes, seconds per run of one ensemble of each size in L (1 = Train alone), and
                        where the time goes: a fixed part per ensemble (dispatch, shared) and a part per member (compute)
          --kernel      toy: instead of the modes, one run per width with its step computed by ToyLossKernel (the CPU's
                        default) and by libtorch's operations, and the ratio; then the grid one at a time as before the
                        kernel (libtorch's step, every run building its task) against the automatic mode
          --phases L    02: instead of the modes, the time of each phase of a step (batch, forward, backward, step) for
                        an ensemble of each size in L, and the fixed and per-member parts of a step
        """;

    public sealed record Options(string Case, int[] Widths, int Rates, int Seeds, int Steps, int Workers, int Rounds, int EnsembleSize,
                                 bool Control, int[]? Scan, int[]? Phases, bool Kernel = false);

    public static Options Parse(string[] args)
    {
        var o = new Options("toy", new[] { 64, 256, 1024 }, 4, 2, 0, Environment.ProcessorCount, 1, 0, false, null, null);
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            int Positive(string name, string text) =>
                int.TryParse(text, out int v) && v > 0 ? v : throw new UsageException($"{name} must be a positive whole number, got '{text}'");
            int[] List(string name) => Value().Split(',').Select(w => Positive(name, w)).ToArray();
            o = args[i] switch
            {
                "--case" => o with { Case = Value() switch { "toy" or "01" => "toy", "02" => "02", var other => throw new UsageException($"--case must be toy or 02, got '{other}'") } },
                "--widths" => o with { Widths = List("--widths") },
                "--rates" => o with { Rates = Positive("--rates", Value()) },
                "--seeds" => o with { Seeds = Positive("--seeds", Value()) },
                "--steps" => o with { Steps = Positive("--steps", Value()) },
                "--workers" => o with { Workers = Positive("--workers", Value()) },
                "--rounds" => o with { Rounds = Positive("--rounds", Value()) },
                "--ensemble" => o with { EnsembleSize = Positive("--ensemble", Value()) },
                "--control" => o with { Control = true },
                "--scan" => o with { Scan = List("--scan") },
                "--phases" => o with { Phases = List("--phases") },
                "--kernel" => o with { Kernel = true },
                _ => throw new UsageException($"unknown option '{args[i]}' of ./lab bench sweep"),
            };
        }
        if (o.Case == "toy" && (o.Control || o.Phases is not null))
            throw new UsageException("--control and --phases are options of --case 02");
        if (o.Case == "02" && o.Kernel) throw new UsageException("--kernel is an option of --case toy");
        if (o.Kernel && (o.Scan is not null || o.EnsembleSize > 0))
            throw new UsageException("--kernel compares the kernel with libtorch and the automatic mode: --scan and --ensemble do not apply");
        return o;
    }

    public static int Run(Options o) => o.Case == "02" ? RunClassifier(o) : RunToy(o);

    private static int RunToy(Options o)
    {
        int steps = o.Steps > 0 ? o.Steps : 300;
        var configs = (from n in o.Widths
                       from init in new[] { LoraInit.InitA_Gaussian, LoraInit.InitB_Gaussian }
                       from k in Enumerable.Range(0, o.Rates)
                       select new ToyConfig(n, init, Math.Pow(2, -12 + 2 * k), steps, 4, 4.0, 1000, 100, 2, 0.5)).ToList();
        var seeds = Enumerable.Range(0, o.Seeds).ToList();
        Console.WriteLine($"Notebook 01's toy sweep: {configs.Count * seeds.Count} runs (widths {string.Join(", ", o.Widths)}; 2 inits × {o.Rates} rates × {o.Seeds} seeds; " +
                          $"{steps} steps, n_train 1000, r 4); {Environment.ProcessorCount} cores, libtorch threads {torch.get_num_threads()} in this process.");
        if (o.Kernel) return ToyKernelBenchmark.Run(o.Widths, steps, o.Rounds, configs, seeds, o.Workers);
        if (o.Scan is { } sizes)
            return Scan(sizes, size =>
            {
                // One width's runs: the grid's configs of the first width, every seed in turn (an ensemble shares a shape).
                var shape = configs.Where(c => c.n == configs[0].n).ToList();
                var runs = Enumerable.Range(0, size).Select(i => (config: shape[i % shape.Count], seed: i / shape.Count, context: (RunContext?)null)).ToList();
                if (size == 1) ToyLora.Train(runs[0].config, runs[0].seed, null);
                else ToyLora.TrainEnsemble(runs);
            });
        Modes(o, configs.Count * seeds.Count, "bench-toy", (runner, parallelism) => runner.Run<ToyLora, ToyConfig>("bench-toy", configs, seeds, parallelism));
        Console.WriteLine("speed-up = one-at-a-time's time / the mode's (the issue's target for the toy sweep: 5x).");
        return 0;
    }

    // ---- notebook 02 ----

    // The quick profile's grids (notebook 02's profile cell): η = 1e-3 · 2^k, k < 8; LoRA+'s η_A = 2.5e-4 · 2^k, k < 6.
    private static double[] Grid(double first, int count) => Enumerable.Range(0, count).Select(i => first * Math.Pow(2, i)).ToArray();

    // k values spread over a grid, both ends included.
    private static double[] Sample(double[] grid, int k) =>
        k >= grid.Length ? grid : Enumerable.Range(0, k).Select(i => grid[k == 1 ? grid.Length / 2 : (int)Math.Round(i * (grid.Length - 1) / (double)(k - 1))]).ToArray();

    private static ClassifierLoraConfig Quick(string baseKey, ClassifierMethod method, LoraInit init, double lr, double ratio, int steps) =>
        new("spam", "quick", baseKey, method, init, lr, ratio, r: 8, lora_alpha: 16, lora_dropout: 0.1, "q_proj,v_proj",
            steps, batch_size: 16, max_length: 40, warmup_ratio: 0.06, weight_decay: 0.0, max_grad_norm: 0.0, max_train: 2000, max_eval: 300);

    private static int RunClassifier(Options o)
    {
        int steps = o.Steps > 0 ? o.Steps : 80;
        string baseKey = ClassifierLora.BaseModel("quick").Report.Key;
        var rates = Sample(Grid(1e-3, 8), o.Rates);
        var configs = (from init in new[] { LoraInit.InitA_KaimingUniform, LoraInit.InitB_KaimingUniform }
                       from lr in rates
                       select Quick(baseKey, ClassifierMethod.Lora, init, lr, 1, steps))
            .Concat(Sample(Grid(2.5e-4, 6), 2).Select(lr => Quick(baseKey, ClassifierMethod.Lora, LoraInit.InitA_KaimingUniform, lr, 16, steps)))
            .Concat(o.Control ? rates.Select(lr => Quick(baseKey, ClassifierMethod.HeadOnly, LoraInit.InitA_KaimingUniform, lr, 1, steps)) : [])
            .ToList();
        var seeds = Enumerable.Range(0, o.Seeds).ToList();
        var (data, _) = ClassifierLora.TaskData("quick", "spam", 40, 2000, 300);
        int ensemble = Ensemble(o);
        Console.WriteLine($"Notebook 02's LoRA sweep, quick profile: {configs.Count * seeds.Count} runs (2 inits × {rates.Length} rates + LoRA+ λ 16 × 2 rates" +
                          $"{(o.Control ? $" + control × {rates.Length} rates" : "")}; × {o.Seeds} seeds); {steps} steps of 16 × ≤ 40 tokens, r 8, " +
                          $"dropout 0.1; spam: {data.Train.Count} train, {data.Validation.Count} validation, {data.Test.Count} test; ensembles of up to {ensemble}; " +
                          $"{Environment.ProcessorCount} cores, libtorch threads {torch.get_num_threads()} in this process; load average {LoadAverage()}.");
        if (o.Scan is { } sizes) return Scan(sizes, size => TrainClassifiers(configs.Where(c => c.Ensembles).ToList(), size));
        if (o.Phases is { } phaseSizes) return Phases(configs.Where(c => c.Ensembles).ToList(), phaseSizes, data);
        Modes(o, configs.Count * seeds.Count, "bench-02", (runner, parallelism) => runner.Run<ClassifierLora, ClassifierLoraConfig>("bench-02", configs, seeds, parallelism));
        Console.WriteLine("speed-up = one-at-a-time's time / the mode's (the issue's target for notebook 02's LoRA sweep: 2x).");
        return 0;
    }

    private static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }

    // Seconds per run of one ensemble of each size, sizes taking turns; train(size) trains one ensemble of that size.
    private static int Scan(int[] sizes, Action<int> train)
    {
        var times = sizes.ToDictionary(s => s, _ => new List<double>());
        for (int round = 0; round < 2; round++)
            foreach (int size in sizes)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var clock = Stopwatch.StartNew();
                train(size);
                times[size].Add(clock.Elapsed.TotalSeconds / size);
                Console.WriteLine($"  round {round + 1}, {size} member(s): {clock.Elapsed.TotalSeconds:F1} s, {times[size][^1]:F2} s per run (load {LoadAverage()})");
            }
        Console.WriteLine();
        Console.WriteLine($"{"members",8} {"s/run",8} {"runs/s",8} {"speed-up",9}");
        double alone = times[sizes[0]].Min();
        foreach (int size in sizes)
            Console.WriteLine($"{size,8} {times[size].Min(),8:F2} {1 / times[size].Min(),8:F2} {alone / times[size].Min(),8:F2}x");
        Console.WriteLine($"speed-up against {sizes[0]} member(s); each size's best of 2 rounds.");
        PrintFixedAndPerMember(sizes.Select(size => (size, 1000 * size * times[size].Min())).ToList(), "run");
        return 0;
    }

    // 02: an ensemble of `size` of the configs (1: ClassifierLora.Train, the run alone).
    private static void TrainClassifiers(List<ClassifierLoraConfig> configs, int size)
    {
        var runs = Enumerable.Range(0, size).Select(i => (configs[i % configs.Count], i / configs.Count, (RunContext?)null)).ToList();
        if (size == 1) ClassifierLora.Train(runs[0].Item1, runs[0].Item2, null);
        else ClassifierLora.TrainEnsemble(runs);
    }

    // Where a step's time goes: the phases of ClassifierLora's ensemble step timed on their own, per ensemble size.
    private static int Phases(List<ClassifierLoraConfig> configs, int[] sizes, ClassificationData data)
    {
        const int warmup = 3, timed = 20;
        var baseModel = ClassifierLora.BaseModel("quick");
        var verbalizer = ClassifierLora.TaskData("quick", "spam", 40, 2000, 300).verbalizer;
        Console.WriteLine();
        Console.WriteLine($"{"members",8} {"batch ms",9} {"forward",9} {"backward",9} {"step",9} {"total",9} {"ms/run",9}");
        var totals = new List<(int members, double ms)>();
        foreach (int size in sizes)
        {
            var members = Enumerable.Range(0, size).Select(i =>
            {
                var c = configs[i % configs.Count];
                var model = BaseClassifier.FromBase(baseModel, data.NumLabels, i);
                VerbalizerHead.Apply(model, baseModel.Model, verbalizer);
                LoraAdapters.Apply(model, new LoraConfig(r: c.r, lora_alpha: c.lora_alpha, lora_dropout: c.lora_dropout, target_modules: c.target_modules, init: c.init, task_type: "SEQ_CLS"));
                return model;
            }).ToList();
            using var ensemble = LoraEnsemble.FromMembers(members);
            var model = ensemble.model;
            using var optimizer = new AdamW(new[]
            {
                new ParamGroup(ensemble.A, 1e-3) { member_lr = Enumerable.Repeat(1.0, size).ToArray() },
                new ParamGroup(ensemble.B, 1e-3) { member_lr = Enumerable.Repeat(16.0, size).ToArray() },
            });
            var samplers = Enumerable.Range(0, size).Select(i => new EpochSampler(data.Train.Count, 16, i)).ToList();
            var phase = new double[4];
            model.train();
            for (int step = 0; step < warmup + timed; step++)
            {
                using var scope = torch.NewDisposeScope();
                var clock = Stopwatch.StartNew();
                double Lap() { double ms = clock.Elapsed.TotalMilliseconds; clock.Restart(); return step >= warmup ? ms : 0; }
                optimizer.zero_grad();
                var batches = samplers.Select(s => s.Next()).ToList();
                var sequences = batches.SelectMany(rows => rows.Select(i => data.Train.Ids[i])).ToList();
                var labels = batches.SelectMany(rows => rows.Select(i => data.Train.Labels[i])).ToList();
                ensemble.SetMemberLengths(batches.Select(rows => (long)rows.Max(i => data.Train.Ids[i].Length)).ToArray());
                var (ids, labelTensor) = BaseClassifier.PadRight(sequences, labels, data.PadId);
                phase[0] += Lap();
                var loss = F.cross_entropy(model.forward(ids), labelTensor, reduction: nn.Reduction.None).view(size, -1).mean(new long[] { 1 });
                var total = loss.sum();
                total.ToDouble();
                phase[1] += Lap();
                total.backward();
                phase[2] += Lap();
                optimizer.step();
                phase[3] += Lap();
            }
            var ms = phase.Select(p => p / timed).ToArray();
            totals.Add((size, ms.Sum()));
            Console.WriteLine($"{size,8} {ms[0],9:F1} {ms[1],9:F1} {ms[2],9:F1} {ms[3],9:F1} {ms.Sum(),9:F1} {ms.Sum() / size,9:F1}");
        }
        Console.WriteLine($"milliseconds per step (mean of {timed} after {warmup}); load average {LoadAverage()}.");
        PrintFixedAndPerMember(totals, "step");
        return 0;
    }

    // Where the time goes: a step of E members takes fixed + E · perMember (a least-squares line through the sizes
    // measured). The fixed part is what a step costs whatever its width (dispatch: the calls into libtorch, the
    // optimizer's bookkeeping), the only part an ensemble shares; the per-member part is the arithmetic, which it cannot.
    private static void PrintFixedAndPerMember(List<(int members, double ms)> totals, string unit)
    {
        if (totals.Select(t => t.members).Distinct().Count() < 2) return;
        double mx = totals.Average(t => t.members), my = totals.Average(t => t.ms);
        double slope = totals.Sum(t => (t.members - mx) * (t.ms - my)) / totals.Sum(t => (t.members - mx) * (t.members - mx));
        double fixedMs = my - slope * mx;
        if (fixedMs <= 0 || slope <= 0)
        {
            Console.WriteLine($"where the time goes: no part of it is shared: a member costs more in a larger ensemble (the line through the sizes, " +
                              $"{fixedMs:F0} + {slope:F0} ms per member, has no positive fixed part), so the time is arithmetic and memory traffic " +
                              "that grows with the ensemble, not dispatch; ensembles cannot speed this up.");
            return;
        }
        double share = fixedMs / (fixedMs + slope);
        Console.WriteLine($"where the time goes (a line through the sizes): {fixedMs:F1} ms fixed per {unit} (dispatch: shared by an ensemble's " +
                          $"members) + {slope:F1} ms per member (compute: not shared). A run alone spends {share:P0} of its time on the fixed part, " +
                          $"so ensembles can speed it up at most {1 / Math.Max(1e-9, 1 - share):F2}x.");
    }

    // The ensemble modes' size: --ensemble, else 8 (the library's own choice on a CPU is 1: ensembles measured slower there).
    private static int Ensemble(Options o) => o.EnsembleSize > 0 ? o.EnsembleSize : 8;

    // ---- the modes, taking turns ----

    private static void Modes(Options o, int runs, string experiment, Func<SweepRunner, SweepParallelism, SweepSummary> sweep)
    {
        var modes = new (string name, SweepParallelism parallelism)[]
        {
            ("one at a time", SweepParallelism.Serial),
            ($"ensembles of {Ensemble(o)}", new SweepParallelism(Ensemble(o), 1)),
            ($"{o.Workers} workers", new SweepParallelism(1, o.Workers)),
            ($"ensembles of {Ensemble(o)}, {o.Workers} workers", new SweepParallelism(Ensemble(o), o.Workers)),
            ("automatic (the notebooks')", new SweepParallelism()),
        };
        var seconds = modes.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < o.Rounds; round++)
            for (int m = 0; m < modes.Length; m++)
            {
                var (name, parallelism) = modes[m];
                Console.Write($"  {(o.Rounds > 1 ? $"round {round + 1}: " : "")}{name} ...");
                string folder = Path.Combine(Path.GetTempPath(), $"loralab-bench-sweep-{Environment.ProcessId}-{Guid.NewGuid():N}");
                Directory.CreateDirectory(folder);
                try
                {
                    using var store = new ResultsStore(Path.Combine(folder, "results.db"));
                    var runner = new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null, Log = TextWriter.Null });
                    FrozenToyTask.Clear();               // every mode builds its toy tasks, as a notebook's sweep does
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    var clock = Stopwatch.StartNew();
                    var summary = sweep(runner, parallelism);
                    seconds[m].Add(clock.Elapsed.TotalSeconds);
                    Console.WriteLine($" {seconds[m][^1]:F1} s ({summary.Done} done, {summary.Diverged} diverged, {summary.Failed} failed; load {LoadAverage()})");
                }
                finally { try { Directory.Delete(folder, recursive: true); } catch (IOException) { } }
            }
        double Median(List<double> x) { var s = x.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
        var median = seconds.Select(Median).ToArray();
        Console.WriteLine();
        Console.WriteLine($"{"mode",-26} {"seconds",8} {"runs/s",8} {"speed-up",9}");
        for (int i = 0; i < modes.Length; i++)
            Console.WriteLine($"{modes[i].name,-26} {median[i],8:F1} {runs / median[i],8:F2} {median[0] / median[i],8:F2}x");
        if (o.Rounds > 1) Console.WriteLine($"seconds: each mode's median of {o.Rounds} rounds.");
    }
}
