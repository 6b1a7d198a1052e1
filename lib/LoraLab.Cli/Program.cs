using LoraLab.Cli;
using LoraLab.Cli.Sweeps;
using System.Runtime.InteropServices;
using LoraLab.Notebooks.Runner;

// The `lab` command line. Each command lives in its own file or library; this file only dispatches.
const string Usage = """
    usage: lab <command> [options]

    commands:
      run       run notebooks headless and write reports (lab run --help)
      pretrain  build or find the cached base model of a profile (lab pretrain --help)
      results   list, export (CSV) or merge results databases (lab results --help)
      sweep     run a notebook's sweep as a Slurm job array, follow it, resubmit failed shards (lab sweep --help)
      torch     load TorchSharp's native library, list the devices it sees and check a product on each (lab torch --help)
      findings  the "what we found" tables of a lab run's notebooks, with their runs' provenance, as Markdown (lab findings --help)

    Every command checks its arguments: an unknown, missing or malformed one is named, with the command's usage, and
    exits 2 before anything runs. lab with no command, -h or --help prints this and exits 0.
    """;

// The sweeps a notebook runs may start worker processes of this same command (lab sweep-worker): say where it is. A
// self-contained build (the GPU machine's, which has no dotnet) runs as its own executable; otherwise `dotnet lab.dll`.
if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(LoraLab.Data.Sweeps.SweepWorkers.LabVariable)))
    Environment.SetEnvironmentVariable(LoraLab.Data.Sweeps.SweepWorkers.LabVariable,
        Path.GetFileNameWithoutExtension(Environment.ProcessPath) is "dotnet" or null ? typeof(PretrainCommand).Assembly.Location : Environment.ProcessPath);

try { return await Dispatch(args); }
catch (TypeInitializationException e) when (e.InnerException is LoraLab.TorchRuntimeException)
{
    // LoraLab loads libtorch when a command first touches it: a library that cannot load is the loader's reason, not a crash.
    Console.Error.WriteLine($"lab: {e.InnerException.Message}");
    return 1;
}

static async Task<int> Dispatch(string[] args)
{
    switch (args.FirstOrDefault())
    {
        case "run":
            return await RunNotebooks(args[1..]);
        case "run-worker": // hidden: the child process `lab run` starts for each notebook
            return await RunCommand.WorkerAsync(args[1..], Console.Out);
        case "sweep-worker": // hidden: a worker process of a notebook's sweep (SweepWorkers)
            return LoraLab.Data.Sweeps.SweepWorkers.Main(args[1..], Console.Error);
        case "pretrain":
            return PretrainCommand.Run(args[1..], Console.Out, Console.Error);
        case "results":
            return ResultsCommand.Run(args[1..], Console.Out, Console.Error);
        case "sweep":
            return SweepCommand.Run(args[1..], Console.Out, Console.Error);
        case "torch":
            return TorchCommand.Run(args[1..], Console.Out, Console.Error);
        case "findings":
            return FindingsCommand.Run(args[1..], Console.Out, Console.Error);
        case null or "-h" or "--help" or "help":
            Console.WriteLine(Usage);
            return 0;
        default:
            Console.Error.WriteLine($"lab: unknown command '{args[0]}'.");
            Console.Error.WriteLine(Usage);
            return 2;
    }
}

// Ctrl-C and SIGTERM do not kill `lab run` at once: they cancel the run, which stops the running notebook's worker,
// writes what it did (marked interrupted) and the index, and exits 130.
static async Task<int> RunNotebooks(string[] args)
{
    using var interrupt = new CancellationTokenSource();
    void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        interrupt.Cancel();
    }
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    var color = !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;
    return await RunCommand.RunAsync(args, Console.Error, workerCommand: null, interrupt.Token, color,
                                     prepare: (options, output) => PaperProfile.Prepare(options, output));
}
