using LoraLab.Notebooks.Runner;

// The `lab` command line. Each command lives in its own library; this file only dispatches.
const string Usage = """
    usage: lab <command> [options]

    commands:
      run    run notebooks headless and write reports (lab run --help)
    """;

switch (args.FirstOrDefault())
{
    case "run":
        return await RunCommand.RunAsync(args[1..], Console.Error);
    case null or "-h" or "--help" or "help":
        Console.WriteLine(Usage);
        return 0;
    default:
        Console.Error.WriteLine($"lab: unknown command '{args[0]}'.");
        Console.Error.WriteLine(Usage);
        return 2;
}
