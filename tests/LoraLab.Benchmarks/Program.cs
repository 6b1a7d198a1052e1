// The binding's per-operation overhead, against Python PyTorch on the same machine in the same run.
//
// Both sides run the same loops on tiny tensors, where the time is almost all overhead (dispatch,
// allocation, the language boundary), single-threaded, and report the median microseconds per
// iteration of five repeats, after a warm-up that lets both runtimes reach their steady state. The table's ratio is LoraLab / Python: below 1 means LoraLab adds less.
//
//   ./lab bench [iterations]      (default 20000; Python comes from /usr/bin/python3, Debian's python3-torch)
//   ./lab bench train [options]   the training benchmark against PyTorch + PEFT instead (TrainBenchmark.cs)
using System.Diagnostics;
using System.Globalization;
using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

if (args.Length > 0 && args[0] == "train")
{
    Environment.ExitCode = TrainBenchmark.Run(args[1..]);
    return;
}

int iterations = args.Length > 0 ? int.Parse(args[0]) : 20000;
torch.set_num_threads(1);
torch.manual_seed(0);

var a = torch.randn(4).DetachFromDisposeScope();
var b = torch.randn(4).DetachFromDisposeScope();
var x = torch.randn(16, 32);
var y = torch.randn(16, 1);
var w1 = (torch.randn(64, 32) * 0.1).requires_grad_();
var w2 = (torch.randn(1, 64) * 0.1).requires_grad_();

var cases = new (string name, string description, Action<int> body, int iterations)[]
{
    ("add", "c = a + b, 4 elements", n => Loop(n, () => _ = a + b), iterations),
    ("chain", "((a * b + a).relu()).sum(), 5 ops", n => Loop(n, () => _ = (a * b + a).relu().sum()), iterations),
    ("mlp", "2-layer MLP forward + backward, batch 16", n => Loop(n, () =>
    {
        var loss = F.mse_loss(F.linear(F.linear(x, w1).relu(), w2), y);
        loss.backward();
        w1.grad = null;
        w2.grad = null;
    }), iterations / 10),
};

var python = RunPython(iterations);
Console.WriteLine($"LoraLab.Torch on libtorch {torch.version}; Python: {python.GetValueOrDefault("version", "unavailable")}; 1 thread, median of 5");
Console.WriteLine();
Console.WriteLine($"{"case",-7} {"what",-42} {"LoraLab µs",11} {"Python µs",10} {"ratio",6}");
foreach (var (name, description, body, n) in cases)
{
    double ours = MedianMicroseconds(body, n);
    string theirs = python.TryGetValue(name, out var p) ? p : "";
    string ratio = double.TryParse(theirs, CultureInfo.InvariantCulture, out double t) ? (ours / t).ToString("F2") : "n/a";
    string theirsText = theirs == "" ? "n/a" : double.Parse(theirs, CultureInfo.InvariantCulture).ToString("F2");
    Console.WriteLine($"{name,-7} {description,-42} {ours,11:F2} {theirsText,10} {ratio,6}");
}
Console.WriteLine();
Console.WriteLine("ratio = LoraLab / Python per iteration (lower is better; the target is at most 1).");

// Every iteration runs in its own dispose scope, as a training step does, so its temporaries are freed at once.
static void Loop(int n, Action body)
{
    for (int i = 0; i < n; i++)
    {
        using var scope = torch.NewDisposeScope();
        body();
    }
}

static double MedianMicroseconds(Action<int> body, int n)
{
    // Warm up until the JIT has settled: .NET first runs tier-0 code and swaps in optimized code
    // after a delay, and a notebook that trains for minutes runs the optimized code.
    for (int i = 0; i < 3; i++) body(n);
    Thread.Sleep(200);
    var times = new List<double>();
    for (int r = 0; r < 5; r++)
    {
        var clock = Stopwatch.StartNew();
        body(n);
        times.Add(clock.Elapsed.TotalMicroseconds / n);
    }
    times.Sort();
    return times[times.Count / 2];
}

// Runs reference.py with the Python that has Debian's torch (the same libtorch 1.13).
static Dictionary<string, string> RunPython(int iterations)
{
    var results = new Dictionary<string, string>();
    string script = Path.Combine(AppContext.BaseDirectory, "reference.py");
    foreach (var python in new[] { Environment.GetEnvironmentVariable("LORALAB_PYTHON"), "/usr/bin/python3", "python3" })
    {
        if (string.IsNullOrEmpty(python)) continue;
        try
        {
            var info = new ProcessStartInfo(python, $"\"{script}\" {iterations}") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info)!;
            string output = process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) continue;
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Split(' ', 2);
                if (parts.Length == 2) results[parts[0]] = parts[1].Trim();
            }
            return results;
        }
        catch (System.ComponentModel.Win32Exception) { }
    }
    Console.Error.WriteLine("No Python with torch was found (apt-get install python3-torch); showing LoraLab's times alone.");
    return results;
}
