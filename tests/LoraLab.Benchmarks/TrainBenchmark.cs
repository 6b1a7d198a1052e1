// Training throughput, LoraLab against PyTorch (+ PEFT for LoRA), in the same run on the same device.
//
// Both sides train the same Llama-style decoder on random tokens, bf16 base, AdamW (lr 1e-4, no
// decay), LoRA r=16 alpha=32 on all seven projections with float32 adapters (PEFT's default), and
// report tokens per second (median of `repeats` windows of `steps` steps, after `warmup` steps),
// peak device memory and model FLOP utilisation. The PyTorch side is tests/gpu/peft_bench.py.
//
//   ./lab bench train [--smoke] [--shapes tiny,small,medium] [--modes lora,full] [--steps 10]
//                     [--warmup 3] [--repeats 3] [--peak-tflops 989] [--json file]
//
// On a machine without a GPU it runs the smoke shape (a check of the harness, seconds on a CPU).
//
// What LoraLab's side measures, on TorchSharp 0.107: eager steps (TorchSharp has no CUDA graph API, so the old binding's
// graph capture and the --graphs option are gone, see TrainStep.cs), with LoraLab's flat-buffer AdamW. TorchSharp has no
// CUDA memory statistics either (no max_memory_allocated, reset_peak_memory_stats or empty_cache), so LoraLab's peak
// memory column is n/a; the PyTorch side still reports its own.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>A benchmark model: the Llama shape and the batch it trains on.</summary>
internal sealed record TrainShape(string name, int hidden, int layers, int heads, int intermediate, int vocab, int seq, int batch)
{
    // The issue's three shapes (head dimension 64, intermediate ≈ 2.75 × hidden as in TinyLlama) and a smoke shape for CPUs.
    public static readonly TrainShape[] All =
    {
        new("tiny", 256, 4, 4, 704, 32000, 256, 32),
        new("small", 768, 12, 12, 2112, 32000, 512, 16),
        new("medium", 2048, 16, 32, 5632, 32000, 1024, 8),
        new("smoke", 64, 2, 4, 172, 256, 32, 4),
    };

    public LlamaConfig Config => new(hidden_size: hidden, num_hidden_layers: layers, num_attention_heads: heads,
                                     intermediate_size: intermediate, vocab_size: vocab, max_position_embeddings: seq);

    public string PythonSpec => $"{name}:{hidden}:{layers}:{heads}:{intermediate}:{vocab}:{seq}:{batch}";

    /// <summary>Matmul weights per token: attention 4h², MLP 3·h·inter per layer, and the lm_head h·V.</summary>
    public double MatmulParameters => layers * (4.0 * hidden * hidden + 3.0 * hidden * intermediate) + (double)hidden * vocab;

    /// <summary>FLOPs per trained token (PaLM's accounting: 2 per weight forward, 4 backward, attention 12·L·h·T).
    /// LoRA skips the frozen weights' gradients (4 per weight instead of 6) and adds its factors' 6·(in+out)·r.</summary>
    public double FlopsPerToken(bool lora, int rank)
    {
        double attention = 12.0 * layers * hidden * seq;
        if (!lora) return 6 * MatmulParameters + attention;
        double adapters = layers * (4.0 * 2 * hidden + 2.0 * (hidden + intermediate) + (intermediate + hidden)) * rank;
        return 4 * MatmulParameters + attention + 6 * adapters;
    }
}

internal static class TrainBenchmark
{
    private const int Rank = 16;
    private const double Alpha = 32;
    private static readonly string Projections = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj";

    public const string Usage = """
        usage: ./lab bench train [--smoke] [--shapes tiny,small,medium] [--modes lora,full] [--steps N] [--warmup N]
                                 [--repeats N] [--peak-tflops X] [--json FILE]
          --smoke            the smoke shape only (what a machine without a GPU runs anyway)
          --shapes LIST      tiny, small, medium, smoke (default tiny,small,medium)
          --modes LIST       lora, full (default both)
          --steps N          steps per timed window (default 10); --warmup N warm-up steps (default 3);
          --repeats N        timed windows, of which the median counts (default 3)
          --peak-tflops X    the device's dense bf16 peak, for MFU (or LORALAB_PEAK_TFLOPS)
          --json FILE        also write every result as JSON
        """;

    public static int Run(Options options)
    {
        var device = torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (device.type == DeviceType.CPU && !options.smoke)
        {
            Console.WriteLine("No GPU: running the smoke shape only (pass --smoke to say so; the paper shapes need a GPU).");
            options = options with { smoke = true };
        }
        var shapes = options.smoke ? new[] { TrainShape.All.Single(s => s.name == "smoke") }
                                   : options.shapes.Select(n => TrainShape.All.Single(s => s.name == n)).ToArray();
        if (options.smoke) options = options with { steps = Math.Min(options.steps, 3), warmup = Math.Min(options.warmup, 1), repeats = Math.Min(options.repeats, 2) };

        Console.WriteLine($"LoraLab training benchmark on {(device.type == DeviceType.CUDA ? "CUDA" : "CPU")}, libtorch {Version()} (TorchSharp), " +
                          $"{torch.get_num_threads()} intra-op threads; bf16 base, AdamW, LoRA r={Rank} alpha={Alpha} on {Projections} (fp32 adapters); " +
                          $"{options.steps} steps x {options.repeats} repeats after {options.warmup} warm-up steps; eager steps (no CUDA graphs in TorchSharp)");
        var ours = new List<JsonObject>();
        foreach (var shape in shapes)
            foreach (var mode in options.modes)
            {
                var result = Guarded(shape, mode, () => RunLoraLab(shape, mode, options, device));
                Console.WriteLine($"  LoraLab {shape.name}/{mode}: {Describe(result)}");
                ours.Add(result);
            }
        var theirs = RunPython(shapes, options, device);
        Report(shapes, options, ours, theirs);
        if (options.json is { } path)
        {
            var all = new JsonArray(ours.Concat(theirs).Select(r => (JsonNode)r.DeepClone()).ToArray());
            File.WriteAllText(path, all.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"results: {path}");
        }
        return ours.Any(r => r.ContainsKey("error")) ? 1 : 0;
    }

    private static JsonObject Guarded(TrainShape shape, string mode, Func<JsonObject> run)
    {
        try { return run(); }
        catch (Exception e) when (e is ExternalException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            return new JsonObject { ["side"] = "loralab", ["shape"] = shape.name, ["mode"] = mode, ["error"] = e.Message.Split('\n')[0] };
        }
        finally
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    private static JsonObject RunLoraLab(TrainShape shape, string mode, Options options, Device device)
    {
        torch.manual_seed(0);
        using var model = new LlamaForCausalLM(shape.Config, ScalarType.BFloat16, device);
        long baseParameters = model.num_parameters();
        if (mode == "lora") LoraAdapters.Apply(model, new LoraConfig(r: Rank, lora_alpha: Alpha, target_modules: Projections));
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        CheckAccounting(shape, baseParameters, trainable.Sum(p => p.numel()), mode);
        using var optimizer = new AdamW(trainable, lr: 1e-4, weight_decay: 0);
        using var ids = torch.randint(shape.vocab, new long[] { shape.batch, shape.seq }, device: device).DetachFromDisposeScope();
        using var step = new TrainStep(model, optimizer, ids);

        void Synchronize() { if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device); }
        for (int i = 0; i < options.warmup; i++) step.Run();
        Synchronize();
        var rates = new List<double>();
        for (int r = 0; r < options.repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < options.steps; i++) step.Run();
            Synchronize();
            rates.Add((double)shape.batch * shape.seq * options.steps / clock.Elapsed.TotalSeconds);
        }
        return new JsonObject
        {
            ["side"] = "loralab", ["shape"] = shape.name, ["mode"] = mode,
            ["tok_s"] = Median(rates), ["tok_s_all"] = new JsonArray(rates.Select(x => (JsonNode)x).ToArray()),
            ["peak_bytes"] = 0L,   // TorchSharp 0.107 has no CUDA memory statistics: n/a in the table
            ["base_params"] = baseParameters, ["trainable_params"] = trainable.Sum(p => p.numel()),
            ["loss"] = double.IsFinite(step.LastLoss()) ? step.LastLoss() : null, ["optimizer"] = "flat-buffer AdamW", ["cuda_graph"] = false,
            ["torch"] = Version(), ["threads"] = torch.get_num_threads(),
        };
    }

    private static List<JsonObject> RunPython(TrainShape[] shapes, Options options, Device device)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "peft_bench.py");
        string python = Environment.GetEnvironmentVariable("LORALAB_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        var arguments = new List<string> { script, "--modes", string.Join(",", options.modes), "--device", device.type == DeviceType.CUDA ? "cuda" : "cpu",
                                           "--steps", $"{options.steps}", "--warmup", $"{options.warmup}", "--repeats", $"{options.repeats}",
                                           "--rank", $"{Rank}", "--alpha", Alpha.ToString(CultureInfo.InvariantCulture) };
        foreach (var s in shapes) arguments.AddRange(new[] { "--shape", s.PythonSpec });
        var results = new List<JsonObject>();
        try
        {
            var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in arguments) info.ArgumentList.Add(a);
            // The same intra-op thread count as LoraLab's side (on the CPU it decides the speed of both).
            string threads = torch.get_num_threads().ToString(CultureInfo.InvariantCulture);
            foreach (var variable in new[] { "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS" }) info.Environment[variable] = threads;
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null)
            {
                JsonObject? row;
                try { row = JsonNode.Parse(line) as JsonObject; }
                catch (JsonException) { row = null; }
                if (row is null) continue;
                results.Add(row);
                Console.WriteLine($"  PyTorch {row["shape"]}/{row["mode"]}: {Describe(row)}");
            }
            process.WaitForExit();
            if (process.ExitCode != 0) Console.WriteLine($"  the PyTorch side ({python} {script}) failed: {stderr.Result.Trim().Split('\n').LastOrDefault()}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.WriteLine($"  no PyTorch side: cannot start {python} ({e.Message}); set LORALAB_PYTHON to a Python with torch (and peft)");
        }
        return results;
    }

    private static void Report(TrainShape[] shapes, Options options, List<JsonObject> ours, List<JsonObject> theirs)
    {
        Console.WriteLine();
        Console.WriteLine($"{"shape",-7} {"mode",-5} {"LoraLab tok/s",14} {"PyTorch tok/s",14} {"ratio",6} {"LoraLab MiB",12} {"PyTorch MiB",12} {"LoraLab MFU",12} {"PyTorch MFU",12}");
        foreach (var shape in shapes)
            foreach (var mode in options.modes)
            {
                var a = ours.FirstOrDefault(r => Same(r, shape, mode));
                var b = theirs.FirstOrDefault(r => Same(r, shape, mode));
                double? ta = Rate(a), tb = Rate(b);
                double flops = shape.FlopsPerToken(mode == "lora", Rank);
                Console.WriteLine($"{shape.name,-7} {mode,-5} {Text(ta, "N0"),14} {Text(tb, "N0"),14} {Text(ta / tb, "F2"),6} " +
                                  $"{Text(MiB(a), "N0"),12} {Text(MiB(b), "N0"),12} {Text(Mfu(ta, flops, options), "P1"),12} {Text(Mfu(tb, flops, options), "P1"),12}");
            }
        Console.WriteLine();
        Console.WriteLine("ratio = LoraLab / PyTorch tokens per second (higher is better). PyTorch's LoRA: " +
                          (theirs.Select(r => r["lora_impl"]?.GetValue<string>()).FirstOrDefault(s => !string.IsNullOrEmpty(s)) ?? "not run") + ".");
        Console.WriteLine("full: LoraLab keeps AdamW's state in float32 for bf16 parameters; PyTorch's AdamW keeps it in bf16 (the parameters' dtype).");
        Console.WriteLine("LoraLab MiB: n/a, TorchSharp 0.107 has no CUDA memory statistics. LoraLab's steps are eager (no CUDA graphs in TorchSharp).");
        Console.WriteLine(options.peakTflops is { } peak
            ? $"MFU = tok/s x FLOPs per token / {peak:F0} TFLOP/s (the device's dense bf16 peak); FLOPs per token as TrainShape.FlopsPerToken (PaLM's accounting)."
            : "MFU: n/a (pass --peak-tflops or set LORALAB_PEAK_TFLOPS to the device's dense bf16 peak).");
    }

    private static string Version() => torch.__version__;

    // The FLOP accounting counts the weights it multiplies by; check that count against the model itself.
    private static void CheckAccounting(TrainShape shape, long baseParameters, long trainable, string mode)
    {
        long norms = shape.layers * 2L * shape.hidden + shape.hidden, embedding = (long)shape.vocab * shape.hidden;
        if (baseParameters - embedding - norms != (long)shape.MatmulParameters)
            throw new ArgumentException($"FLOP accounting of {shape.name}: {shape.MatmulParameters} matmul weights, the model has {baseParameters - embedding - norms}");
        double adapters = shape.FlopsPerToken(true, Rank) - 4 * shape.MatmulParameters - 12.0 * shape.layers * shape.hidden * shape.seq;
        if (mode == "lora" && Math.Abs(adapters / 6 - trainable) > 0.5)
            throw new ArgumentException($"FLOP accounting of {shape.name}: {adapters / 6} adapter weights, the model trains {trainable}");
    }

    private static bool Same(JsonObject r, TrainShape s, string mode) => r["shape"]?.GetValue<string>() == s.name && r["mode"]?.GetValue<string>() == mode;
    private static double? Rate(JsonObject? r) => Number(r?["tok_s"]);
    private static double? MiB(JsonObject? r) => Number(r?["peak_bytes"]) is double b && b > 0 ? b / 1048576.0 : null;

    // A JSON number of either side, whatever .NET type it was written from (the Python side's come parsed).
    private static double? Number(JsonNode? n) =>
        n is JsonValue && double.TryParse(n.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double x) ? x : null;
    private static double? Mfu(double? tokS, double flops, Options o) => o.peakTflops is { } peak && tokS is { } t ? t * flops / (peak * 1e12) : null;
    private static string Text(double? x, string format) => x is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";
    private static string Describe(JsonObject r) => r["error"] is { } e ? $"error: {e}" : $"{Rate(r):N0} tok/s, loss {Number(r["loss"]):F3}";

    private static double Median(List<double> xs)
    {
        var sorted = xs.OrderBy(x => x).ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    internal sealed record Options(bool smoke, string[] shapes, string[] modes, int steps, int warmup, int repeats, double? peakTflops, string? json)
    {
        /// <summary>Reads the options; every problem is a UsageException (exit code 2).</summary>
        public static Options Parse(string[] args)
        {
            double? peak = null;
            if (Environment.GetEnvironmentVariable("LORALAB_PEAK_TFLOPS") is { Length: > 0 } text)
                peak = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) && p > 0 && double.IsFinite(p)
                    ? p : throw new UsageException($"LORALAB_PEAK_TFLOPS={text} is not a positive number");
            var o = new Options(false, new[] { "tiny", "small", "medium" }, new[] { "lora", "full" }, 10, 3, 3, peak, null);
            var seen = new HashSet<string>();
            var reader = new ArgumentReader(args);
            while (reader.Next() is { } arg)
            {
                if (!arg.StartsWith('-')) throw new UsageException($"unknown argument '{arg}' for bench train");
                if (!seen.Add(reader.Name)) throw new UsageException($"{reader.Name} is given twice");
                o = reader.Name switch
                {
                    "--smoke" => reader.Flag(o with { smoke = true }),
                    "--shapes" => o with { shapes = reader.Choices(TrainShape.All.Select(s => s.name).ToArray()) },
                    "--modes" => o with { modes = reader.Choices(new[] { "lora", "full" }) },
                    "--steps" => o with { steps = reader.PositiveInt(max: 1_000_000) },
                    "--warmup" => o with { warmup = reader.PositiveInt(max: 1_000_000) },
                    "--repeats" => o with { repeats = reader.PositiveInt(max: 1000) },
                    "--peak-tflops" => o with { peakTflops = reader.PositiveDouble() },
                    "--json" => o with { json = reader.Value() },
                    "--graphs" => throw new UsageException("--graphs is gone: TorchSharp 0.107 has no CUDA graph API, every step runs eagerly"),
                    _ => throw new UsageException($"unknown option '{reader.Name}' for bench train"),
                };
            }
            return o;
        }
    }
}
