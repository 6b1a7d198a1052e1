using LoraLab.Cli;
using LoraLab.Cli.Sweeps;
using LoraLab.Notebooks.Runner;

// The `lab` command line. Each command lives in its own file or library; this file only dispatches.
const string Usage = """
    usage: lab <command> [options]

    commands:
      run       run notebooks headless and write reports (lab run --help)
      pretrain  build or find the cached base model of a profile (--profile quick|paper|tiny)
      results   list, export (CSV) or merge results databases (lab results --help)
      sweep     run a notebook's sweep as a Slurm job array, follow it, resubmit failed shards (lab sweep --help)
    """;

switch (args.FirstOrDefault())
{
    case "run":
        return await RunCommand.RunAsync(args[1..], Console.Error);
    case "pretrain":
        return PretrainCommand.Run(args[1..], Console.Out, Console.Error);
    case "results":
        return ResultsCommand.Run(args[1..], Console.Out, Console.Error);
    case "sweep":
        return SweepCommand.Run(args[1..], Console.Out, Console.Error);
    case null or "-h" or "--help" or "help":
        Console.WriteLine(Usage);
        return 0;
    default:
        Console.Error.WriteLine($"lab: unknown command '{args[0]}'.");
        Console.Error.WriteLine(Usage);
        return 2;
}
