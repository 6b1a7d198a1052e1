namespace LoraLab.Notebooks.Runner;

/// <summary>
/// The `lab run` command line: parses arguments into <see cref="RunOptions"/>, runs the notebooks and turns the outcome
/// into an exit code (0 all ran, 1 a notebook failed or was invalid, 2 bad arguments).
/// </summary>
public static class RunCommand
{
    public const string Usage = """
        usage: lab run [notebook.ipynb ...] [--profile quick|paper|ci] [--param name=value ...] [--out dir] [--plotly path]

        Runs Polyglot (C#) notebooks headless, cell by cell in one C# session, and writes for each notebook
        the executed .ipynb and a self-contained HTML report into the output folder (default reports/), plus index.html.
        With no notebooks named, runs every .ipynb under notebooks/ in name order.

          --profile NAME      inject `profile = "NAME"` after the cell tagged "parameters"
          --param NAME=VALUE  inject a parameter (numbers stay numbers, true/false are bools, else strings); repeatable
          --out DIR           output folder (default: reports)
          --plotly PATH       plotly.min.js to embed (default: data/node_modules/plotly.js-dist-min/plotly.min.js, found upwards)
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, CancellationToken cancellationToken = default)
    {
        RunOptions options;
        try
        {
            var parsed = Parse(args);
            if (parsed is null)
            {
                output.WriteLine(Usage);
                return 0;
            }
            options = parsed;
        }
        catch (ArgumentException error)
        {
            output.WriteLine($"error: {error.Message}");
            output.WriteLine(Usage);
            return 2;
        }

        var results = await new NotebookRunner(options, output).RunAllAsync(cancellationToken);
        var failed = results.Count(r => r.Status != RunStatus.Ok);
        output.WriteLine($"{results.Count} notebook(s): {results.Count - failed} ok, {failed} failed -> {Path.Combine(options.OutputFolder, "index.html")}");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The options the arguments ask for, or null when they ask for help. Throws ArgumentException on bad input.</summary>
    public static RunOptions? Parse(IReadOnlyList<string> args)
    {
        var notebooks = new List<string>();
        var parameters = new List<KeyValuePair<string, string>>();
        string? profile = null, plotly = null;
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
                    parameters.Add(KeyValuePair.Create(pair[..equals].Trim(), pair[(equals + 1)..]));
                    break;
                case "--out" or "-o":
                    outputFolder = Value();
                    break;
                case "--plotly":
                    plotly = Value();
                    break;
                default:
                    if (flag.StartsWith('-')) throw new ArgumentException($"unknown option {flag}.");
                    notebooks.Add(args[i]);
                    break;
            }
        }
        return new RunOptions
        {
            Notebooks = notebooks, Profile = profile, Parameters = parameters, OutputFolder = outputFolder, PlotlyScriptPath = plotly,
        };
    }

    // "--out=dir" and "--out dir" both work.
    static (string Flag, string? Value) SplitFlag(string arg) =>
        arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is var equals and > 2
            ? (arg[..equals], arg[(equals + 1)..])
            : (arg, null);
}
