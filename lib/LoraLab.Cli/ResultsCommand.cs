using LoraLab.Data.Results;

namespace LoraLab.Cli;

/// <summary>
/// `lab results`: look into the results store from the shell.
///   lab results list  [--db PATH] [--experiment NAME]     one line per run
///   lab results csv   [--db PATH] [--experiment NAME] [--metrics] [--out FILE]
///   lab results merge SHARD.db... [--db PATH]             fold shard databases into one
/// </summary>
public static class ResultsCommand
{
    public const string Usage = """
        usage: lab results list  [--db PATH] [--experiment NAME]
               lab results csv   [--db PATH] [--experiment NAME] [--metrics] [--out FILE]
               lab results merge SHARD.db... [--db PATH]
        The database defaults to data/results.db.
        """;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            var (verb, options, positional) = Parse(args);
            string path = options.GetValueOrDefault("db") ?? Path.Combine(LoraLab.Data.DataRoot.RepositoryRoot(), "data", "results.db");
            switch (verb)
            {
                case "list":
                    using (var store = new ResultsStore(path))
                    {
                        foreach (var run in store.Runs(options.GetValueOrDefault("experiment")))
                            output.WriteLine($"{run.Id,5} {run.Experiment,-28} {run.ConfigHash} seed {run.Seed,-3} {run.Status,-9} {run.Error ?? ""}");
                    }
                    return 0;
                case "csv":
                    using (var store = new ResultsStore(path))
                    using (var writer = options.TryGetValue("out", out var file) ? new StreamWriter(file!) : null)
                    {
                        var target = writer ?? output;
                        if (options.ContainsKey("metrics")) CsvExport.WriteMetrics(store, target, options.GetValueOrDefault("experiment"));
                        else CsvExport.WriteRuns(store, target, options.GetValueOrDefault("experiment"));
                    }
                    return 0;
                case "merge":
                    if (positional.Count == 0) throw new ArgumentException("name at least one database to merge");
                    using (var store = new ResultsStore(path))
                    {
                        foreach (var other in positional)
                        {
                            if (!File.Exists(other)) throw new FileNotFoundException($"no database at '{other}'");
                            var report = store.MergeFrom(other);
                            output.WriteLine($"{other}: {report.RunsCopied} runs copied, {report.RunsSkipped} already present");
                        }
                    }
                    return 0;
                default:
                    error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException)
        {
            error.WriteLine($"lab results: {e.Message}");
            return 2;
        }
    }

    private static (string verb, Dictionary<string, string?> options, List<string> positional) Parse(string[] args)
    {
        var options = new Dictionary<string, string?>();
        var positional = new List<string>();
        for (int i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--")) { positional.Add(args[i]); continue; }
            string name = args[i][2..];
            bool flag = name == "metrics";
            if (!flag && i + 1 >= args.Length) throw new ArgumentException($"--{name} needs a value");
            options[name] = flag ? null : args[++i];
        }
        return (args.FirstOrDefault() ?? "", options, positional);
    }
}
