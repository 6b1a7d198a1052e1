// LoraLab's benchmarks: each prints a table of ratios against PyTorch measured in the same run on the same machine.
//
//   ./lab bench [options]          LoraLab on TorchSharp against Python PyTorch, case by case (StepBenchmark.cs)
//   ./lab bench train [options]    training throughput against PyTorch + PEFT (TrainBenchmark.cs)
//   ./lab bench sweep [options]    a sweep's runs per second: one at a time, as ensembles, over workers (SweepBenchmark.cs)
//   ./lab bench dropout [options]  LoRA's dropout masks drawn by LoraLab against libtorch's way (DropoutBenchmark.cs)
//
// Every argument is checked: an unknown or malformed one prints what is wrong and exits with code 2. Exit code 1: a
// LoraLab case failed (or libtorch could not load); 0 otherwise, whether or not the targets are met (the table says).
using System.Globalization;
using LoraLab;

int code = BenchCommand.Run(args);
Environment.ExitCode = code;   // LoraLab.DeviceRunner invokes this entry point by reflection and reads the exit code here
return code;

/// <summary>A command line that cannot be run: the message says which argument and why.</summary>
internal sealed class UsageException(string message) : Exception(message);

internal static class BenchCommand
{
    public const string Usage = """
        usage: ./lab bench [--threads N] [--quick-threads N,N] [--cases LIST] [--iterations N] [--repeats N] [--phases]
               ./lab bench train [--smoke] [--shapes tiny,small,medium] [--modes lora,full] [--steps N] [--warmup N]
                                 [--repeats N] [--peak-tflops X] [--json FILE]
               ./lab bench sweep [--widths N,N,...] [--rates K] [--seeds K] [--steps N] [--workers N]
               ./lab bench dropout [--sizes N,N,...] [--steps N] [--rounds N]

        ./lab bench: LoraLab against Python PyTorch (/usr/bin/python3, or LORALAB_PYTHON) on the CPU, case by case:
          --threads N          intra-op threads of every case but quick, on both sides (default 1)
          --quick-threads L    the thread counts the quick-base step runs at, comma-separated (default 1,2)
          --cases LIST         which cases, comma-separated: add, chain, mlp, lora, adamw, quick (default all)
          --iterations N       iterations of add and chain per repetition (default 20000); mlp runs N/10,
                               lora N/20, adamw N/200, quick one step
          --repeats N          timed repetitions per side, of which the median counts (default 5)
          --phases             also time each phase of lora, quick (zero_grad, forward, backward, step) on both sides
          A bare number is --iterations (as before). LORALAB_THREADS does not apply: the benchmark sets the threads.
        ./lab bench train: see tests/LoraLab.Benchmarks/TrainBenchmark.cs (--help there too).
        ./lab bench sweep: runs per second of a sweep, one at a time, as ensembles and over workers (--help there too).
        ./lab bench dropout: LoRA's dropout masks drawn by LoraLab against libtorch's way, and whole runs (--help there too).
        """;

    public static int Run(string[] args)
    {
        try { return RunChecked(args); }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            Console.Error.WriteLine("  (./lab bench --help lists the options)");
            return 2;
        }
        catch (Exception e) when (TorchRuntimeProblem(e) is { } problem)
        {
            Console.Error.WriteLine($"bench: {problem}");
            return 1;
        }
    }

    // LoraLab loads libtorch in a module initializer, which runs when a method that uses a LoraLab type is compiled: a
    // TorchRuntimeException (libtorch cannot load, or LORALAB_THREADS is not a number) then arrives wrapped in a
    // TypeInitializationException. So Run names no LoraLab type, and this looks for the exception by name.
    private static string? TorchRuntimeProblem(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e.GetType().FullName == "LoraLab.TorchRuntimeException") return e.Message;
        return null;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int RunChecked(string[] args)
    {
        if (args.Length > 0 && args[0] == "train")
        {
            if (args.Skip(1).Any(IsHelp)) { Console.WriteLine(TrainBenchmark.Usage); return 0; }
            var trainOptions = TrainBenchmark.Options.Parse(args[1..]);
            TorchRuntime.EnsureLoaded();
            return TrainBenchmark.Run(trainOptions);
        }
        if (args.Length > 0 && args[0] == "sweep")
        {
            if (args.Skip(1).Any(IsHelp)) { Console.WriteLine(SweepBenchmark.Usage); return 0; }
            var sweepOptions = SweepBenchmark.Parse(args[1..]);
            TorchRuntime.EnsureLoaded();
            return SweepBenchmark.Run(sweepOptions);
        }
        if (args.Length > 0 && args[0] == "dropout")
        {
            if (args.Skip(1).Any(IsHelp)) { Console.WriteLine(DropoutBenchmark.Usage); return 0; }
            var dropoutOptions = DropoutBenchmark.Parse(args[1..]);
            TorchRuntime.EnsureLoaded();
            return DropoutBenchmark.Run(dropoutOptions);
        }
        if (args.Any(IsHelp)) { Console.WriteLine(Usage); return 0; }
        var options = ParseStep(args);
        TorchRuntime.EnsureLoaded();   // before the benchmark sets the threads: loading sets them from LORALAB_THREADS
        return StepBenchmark.Run(options);
    }

    private static bool IsHelp(string a) => a is "-h" or "--help" or "help";

    public static StepOptions ParseStep(string[] args)
    {
        var o = new StepOptions(Threads: 1, QuickThreads: new[] { 1, 2 }, Iterations: 20000, Repeats: 5, Cases: StepOptions.AllCases, Phases: false);
        var seen = new HashSet<string>();
        var reader = new ArgumentReader(args);
        while (reader.Next() is { } arg)
        {
            if (!arg.StartsWith('-'))
            {
                if (int.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 && seen.Add("--iterations"))
                {
                    o = o with { Iterations = n };
                    continue;
                }
                throw new UsageException(int.TryParse(arg, out _)
                    ? $"'{arg}': the iteration count must be a positive whole number given once"
                    : $"unknown argument '{arg}' (./lab bench takes options, or 'train' first for the training benchmark)");
            }
            if (arg != "--phases" && !seen.Add(reader.Name)) throw new UsageException($"{reader.Name} is given twice");
            o = reader.Name switch
            {
                "--threads" => o with { Threads = reader.PositiveInt(max: 256) },
                "--quick-threads" => o with { QuickThreads = reader.PositiveInts(max: 256) },
                "--iterations" => o with { Iterations = reader.PositiveInt(max: 100_000_000) },
                "--repeats" => o with { Repeats = reader.PositiveInt(max: 1000) },
                "--cases" => o with { Cases = reader.Choices(StepOptions.AllCases) },
                "--phases" => reader.Flag(o with { Phases = true }),
                _ => throw new UsageException($"unknown option '{reader.Name}'"),
            };
        }
        return o;
    }
}

/// <summary>Reads "--name value" and "--name=value" options, each value checked, every problem a UsageException.</summary>
internal sealed class ArgumentReader(string[] args)
{
    private int i = -1;
    private string? inlineValue;

    /// <summary>The option being read, without an "=value" part.</summary>
    public string Name { get; private set; } = "";

    public string? Next()
    {
        if (++i >= args.Length) return null;
        string arg = args[i];
        int eq = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=') : -1;
        (Name, inlineValue) = eq > 0 ? (arg[..eq], arg[(eq + 1)..]) : (arg, null);
        return arg;
    }

    public string Value()
    {
        if (inlineValue is not null) return inlineValue;
        if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"{Name} needs a value");
        return args[++i];
    }

    public T Flag<T>(T result) => inlineValue is null ? result : throw new UsageException($"{Name} takes no value");

    public int PositiveInt(int max)
    {
        string text = Value();
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= max
            ? n
            : throw new UsageException($"{Name} needs a whole number from 1 to {max}, got '{text}'");
    }

    public int[] PositiveInts(int max)
    {
        string text = Value();
        var parts = text.Split(',');
        var values = new List<int>();
        foreach (var p in parts)
        {
            if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || n > max)
                throw new UsageException($"{Name} needs whole numbers from 1 to {max}, comma-separated, got '{text}'");
            if (!values.Contains(n)) values.Add(n);
        }
        return values.ToArray();
    }

    public double PositiveDouble()
    {
        string text = Value();
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && x > 0 && double.IsFinite(x)
            ? x
            : throw new UsageException($"{Name} needs a positive number, got '{text}'");
    }

    public string[] Choices(string[] known)
    {
        string text = Value();
        var chosen = text.Split(',', StringSplitOptions.TrimEntries);
        foreach (var c in chosen)
            if (!known.Contains(c))
                throw new UsageException($"{Name}: unknown {(c.Length == 0 ? "empty entry" : $"'{c}'")} in '{text}' (known: {string.Join(", ", known)})");
        return chosen.Distinct().ToArray();
    }
}
