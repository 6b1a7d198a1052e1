using System.Globalization;
using LoraLab.Notebooks.Documents;

namespace LoraLab.Notebooks.Runner;

/// <summary>
/// The `lab run` command line: parses arguments into <see cref="RunOptions"/>, runs the notebooks and turns the outcome
/// into an exit code (<see cref="ExitCodes"/>). `lab run-worker` is the hidden command each notebook runs in.
/// </summary>
public static class RunCommand
{
    public const string Usage = """
        usage: lab run [notebook.ipynb ...] [--profile quick|paper|ci] [--param name=value ...] [--out dir]
                       [--timeout seconds] [--heartbeat seconds] [--plotly path] [--skip-tag tag ...] [--show-code]
                       [--render-only | --train]

        Runs Polyglot (C#) notebooks headless, cell by cell in one C# session (a child process per notebook), and writes
        for each notebook the executed .ipynb and a self-contained HTML report into the output folder (default reports/),
        after every cell, plus index.html. With no notebooks named, runs every .ipynb under notebooks/ in name order.

          --profile NAME      inject `profile = "NAME"` after the cell tagged "parameters"
          --param NAME=VALUE  inject a parameter as a literal of the type the parameters cell declares (int, long, double,
                              float, decimal, bool, string, or arrays/lists of them: 1,2,3 or [1, 2, 3]); repeatable
          --out DIR           output folder (default: reports)
          --timeout SECONDS   stop a cell that runs longer (default: none; a cell's or the notebook's
                              metadata.loralab.timeout also sets it)
          --heartbeat SECONDS how often a long cell reports that it is still running (default 15)
          --plotly PATH       plotly.min.js to embed (default: data/node_modules/plotly.js-dist-min/plotly.min.js, found upwards)
          --skip-tag TAG      do not run the code cells tagged TAG (the report shows them as skipped); repeatable.
                              A Slurm sweep's shards run with --skip-tag figures: they train, the merge job draws
          --show-code         show every cell's code in the reports (default: folded, with a show-code toggle per
                              cell and one for the page)
          --render-only       train nothing: every sweep draws from the runs its store has and says which are missing
                              (listed in its log, data/logs/); bases that are not cached are not pretrained
          --train             with --profile paper on a machine without a GPU, train the missing runs here (hours);
                              without it, the paper profile renders only, from the committed shards in data/results/paper

        --profile paper uses data/results/paper.db, the committed shards of data/results/paper/*.db merged into it
        (LORALAB_RESULTS_DB or --param store_path=... choose another store).

        exit codes: 0 all ok, 1 a cell failed or a notebook is invalid, 2 bad arguments, 3 a cell timed out,
                    4 a cell exited the process, 130 interrupted (Ctrl-C, SIGTERM)
        """;

    public static Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, CancellationToken interrupt = default) =>
        RunAsync(args, output, workerCommand: null, interrupt);

    /// <param name="workerCommand">How to start a worker process (see <see cref="RunOptions.WorkerCommand"/>); null: this program.</param>
    /// <param name="interrupt">Cancelled on Ctrl-C or SIGTERM: the running notebook is stopped and marked interrupted.</param>
    /// <param name="prepare">Settles what depends on the notebooks' libraries before anything runs (the `lab` program:
    /// the paper profile's store and whether it renders only); throws ArgumentException for bad input.</param>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, IReadOnlyList<string>? workerCommand,
        CancellationToken interrupt = default, bool color = false, Func<RunOptions, TextWriter, RunOptions>? prepare = null)
    {
        RunOptions options;
        try
        {
            var parsed = Parse(args);
            if (parsed is null)
            {
                output.WriteLine(Usage);
                return ExitCodes.Ok;
            }
            options = parsed with { WorkerCommand = workerCommand, Color = color };
            if (prepare is not null) options = prepare(options, output);
        }
        catch (ArgumentException error)
        {
            output.WriteLine($"error: {error.Message}");
            output.WriteLine(Usage);
            return ExitCodes.BadArguments;
        }

        IReadOnlyList<NotebookRunResult> results;
        try
        {
            results = await new NotebookRunner(options, output).RunAllAsync(interrupt);
        }
        catch (ArgumentException error) // found when checking the output folder and the notebooks: nothing ran
        {
            foreach (var line in error.Message.Split('\n')) output.WriteLine($"error: {line}");
            return ExitCodes.BadArguments;
        }
        var counts = results.GroupBy(r => r.StatusText).Select(group => $"{group.Count()} {group.Key}");
        var total = TimeSpan.FromTicks(results.Sum(r => r.Elapsed.Ticks));
        output.WriteLine($"{results.Count} notebook(s): {string.Join(", ", counts)} in {Reports.Durations.Format(total)} -> " +
            Path.Combine(options.OutputFolder, "index.html"));
        return results.Count == 0 ? ExitCodes.Ok : results.Max(r => ExitCodes.Of(r.Status));
    }

    /// <summary>`lab run-worker NOTEBOOK [options]`: runs one notebook for a `lab run` parent (see <see cref="NotebookWorker"/>).</summary>
    public static async Task<int> WorkerAsync(IReadOnlyList<string> args, TextWriter channel)
    {
        RunOptions? options;
        try { options = Parse(args); }
        catch (ArgumentException error)
        {
            Console.Error.WriteLine($"lab run-worker: {error.Message}");
            return ExitCodes.BadArguments;
        }
        if (options is null || options.Notebooks.Count != 1)
        {
            Console.Error.WriteLine("lab run-worker runs one notebook for `lab run`: lab run-worker NOTEBOOK [lab run options]");
            return ExitCodes.BadArguments;
        }
        return await NotebookWorker.RunAsync(options, options.Notebooks[0], channel);
    }

    /// <summary>The options the arguments ask for, or null when they ask for help. Throws ArgumentException on bad input.</summary>
    public static RunOptions? Parse(IReadOnlyList<string> args)
    {
        var notebooks = new List<string>();
        var parameters = new List<KeyValuePair<string, string>>();
        var skipTags = new List<string>();
        string? profile = null, plotly = null;
        bool showCode = false, renderOnly = false, train = false;
        TimeSpan? timeout = null;
        var heartbeat = TimeSpan.FromSeconds(15);
        var outputFolder = "reports";
        for (var i = 0; i < args.Count; i++)
        {
            var (flag, inlineValue) = SplitFlag(args[i]);
            string Value() => inlineValue ?? (++i < args.Count ? args[i] : throw new ArgumentException($"{flag} needs a value."));
            switch (flag)
            {
                case "-h" or "--help":
                    return null;
                case "--profile":
                    profile = Value();
                    if (!RunOptions.Profiles.Contains(profile))
                        throw new ArgumentException($"unknown profile '{profile}'; use one of {string.Join(", ", RunOptions.Profiles)}.");
                    break;
                case "--param" or "-p":
                    var pair = Value();
                    var equals = pair.IndexOf('=');
                    if (equals <= 0) throw new ArgumentException($"--param wants name=value, got '{pair}'.");
                    var name = pair[..equals].Trim();
                    if (!ParameterInjection.IsValidName(name)) throw new ArgumentException($"--param {pair}: '{name}' is not a valid C# variable name.");
                    parameters.Add(KeyValuePair.Create(name, pair[(equals + 1)..]));
                    break;
                case "--out" or "-o":
                    outputFolder = Value();
                    if (outputFolder.Trim().Length == 0) throw new ArgumentException("--out needs a folder name.");
                    break;
                case "--plotly":
                    plotly = Value();
                    break;
                case "--timeout":
                    var seconds = Seconds(flag, Value());
                    timeout = seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
                    break;
                case "--skip-tag":
                    var tag = Value();
                    if (tag.StartsWith('-')) throw new ArgumentException($"--skip-tag needs a cell tag, got the option '{tag}'.");
                    if (tag.Length == 0 || tag.Any(c => char.IsWhiteSpace(c) || c == ','))
                        throw new ArgumentException($"--skip-tag wants one cell tag (no spaces or commas; repeat the option for more), got '{tag}'.");
                    if (tag is "parameters" or "injected-parameters")
                        throw new ArgumentException($"--skip-tag {tag}: the cell tagged \"{tag}\" holds the notebook's knobs and always runs.");
                    if (!skipTags.Contains(tag)) skipTags.Add(tag);
                    break;
                case "--show-code":
                    if (inlineValue is not null) throw new ArgumentException($"--show-code takes no value, got '{args[i]}'.");
                    showCode = true;
                    break;
                case "--render-only" or "--train":
                    if (inlineValue is not null) throw new ArgumentException($"{flag} takes no value, got '{args[i]}'.");
                    if (flag == "--train") train = true; else renderOnly = true;
                    break;
                case "--heartbeat":
                    heartbeat = TimeSpan.FromSeconds(Math.Max(0.1, Seconds(flag, Value())));
                    break;
                default:
                    if (flag.StartsWith('-')) throw new ArgumentException($"unknown option {flag}.");
                    notebooks.Add(args[i]);
                    break;
            }
        }
        if (renderOnly && train) throw new ArgumentException("--render-only and --train contradict each other: choose one.");
        if (train && profile != "paper")
            throw new ArgumentException("--train is for --profile paper on a machine without a GPU; the other profiles always train what is missing.");
        return new RunOptions
        {
            Notebooks = notebooks, Profile = profile, Parameters = parameters, OutputFolder = outputFolder, PlotlyScriptPath = plotly,
            CellTimeout = timeout, Heartbeat = heartbeat, SkipTags = skipTags, ShowCode = showCode, RenderOnly = renderOnly, Train = train,
        };
    }

    static double Seconds(string flag, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds) && seconds >= 0
            ? seconds
            : throw new ArgumentException($"{flag} wants a number of seconds (0: no limit), got '{text}'.");

    // "--out=dir" and "--out dir" both work.
    static (string Flag, string? Value) SplitFlag(string arg) =>
        arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is var equals and > 2
            ? (arg[..equals], arg[(equals + 1)..])
            : (arg, null);
}
