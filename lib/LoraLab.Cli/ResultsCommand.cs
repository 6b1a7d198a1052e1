using LoraLab.Data.Results;
using Microsoft.Data.Sqlite;

namespace LoraLab.Cli;

/// <summary>
/// `lab results`: look into the results store from the shell.
///   lab results list  [DB] [--experiment NAME]                          one line per run
///   lab results csv   [DB] [--experiment NAME] [--metrics] [--out FILE]
///   lab results merge SHARD.db|FOLDER... [--db PATH] [--not-in DB|FOLDER]...  fold shard databases into one
/// list and csv only read: a database they are given must exist and be a results database (they never create one).
/// </summary>
public static class ResultsCommand
{
    public const string Usage = """
        usage: lab results list  [DB] [--experiment NAME]
               lab results csv   [DB] [--experiment NAME] [--metrics] [--out FILE]
               lab results merge SHARD.db|FOLDER... [--db PATH] [--not-in DB|FOLDER]...

        list prints one line per run, csv writes the runs (or with --metrics every metric point) as CSV, merge copies
        the runs of each SHARD.db (a FOLDER: each of its *.db files) into the database --db names (created when
        missing). DB (or --db DB) is the database to read; both default to data/results.db. Relative paths are taken
        from the current folder, which for ./lab is the repository root.

          --experiment NAME  only the runs of this experiment
          --metrics          csv: one line per (run, step, metric) instead of one per run
          --out FILE         csv: write FILE instead of standard output
          --not-in PATH      merge: leave out the runs that PATH (a database, or a folder of them) already has, so
                             that a new shard repeats none of the committed ones (repeatable)

        exit codes: 0 ok, 1 a database could not be read or written (or data/results.db does not exist yet),
                    2 bad arguments (an unknown verb or option, a missing value, a database named that does not
                    exist or is not a results database)
        """;

    private static readonly Dictionary<string, (string[] Flags, string[] Valued)> Verbs = new()
    {
        ["list"] = ([], ["db", "experiment"]),
        ["csv"] = (["metrics"], ["db", "experiment", "out"]),
        ["merge"] = ([], ["db", "not-in"]),
    };

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            output.WriteLine(Usage);
            return CommandExitCodes.Ok;
        }
        string verb = args[0];
        try
        {
            if (!Verbs.TryGetValue(verb, out var accepted))
                throw new ArgumentException(verb.StartsWith('-') ? $"name a verb (list, csv or merge) before the options, got '{verb}'"
                                                                 : $"unknown verb '{verb}'; use list, csv or merge");
            var options = CommandArguments.Parse(args[1..], accepted.Flags, accepted.Valued, repeatable: ["not-in"],
                elsewhere: name => Verbs.Where(v => v.Value.Flags.Contains(name) || v.Value.Valued.Contains(name))
                                        .Select(v => $"'--{name}' is an option of lab results {v.Key}, not of {verb}").FirstOrDefault());
            if (options.Help)
            {
                output.WriteLine(Usage);
                return CommandExitCodes.Ok;
            }
            return verb switch
            {
                "list" => List(options, output, error),
                "csv" => Csv(options, output, error),
                _ => Merge(options, output),
            };
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"lab results: {e.Message}");
            error.WriteLine(Usage);
            return CommandExitCodes.BadArguments;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or SqliteException)
        {
            error.WriteLine($"lab results: {e.Message}");
            return CommandExitCodes.Failed;
        }
    }

    private static int List(CommandArguments options, TextWriter output, TextWriter error)
    {
        using var store = new ResultsStore(DatabaseToRead(options, "list"));
        string? experiment = options.Value("experiment");
        var runs = Read(store, s => s.Runs(experiment));
        foreach (var run in runs)
            output.WriteLine($"{run.Id,5} {run.Experiment,-28} {run.ConfigHash} seed {run.Seed,-3} {run.Status,-9} {run.Error ?? ""}");
        NoteUnknownExperiment(store, experiment, runs.Count, error);
        return CommandExitCodes.Ok;
    }

    private static int Csv(CommandArguments options, TextWriter output, TextWriter error)
    {
        string database = DatabaseToRead(options, "csv");
        string? file = options.Value("out") is { } target ? CheckedOutFile(target, database) : null;
        string? experiment = options.Value("experiment");
        using var store = new ResultsStore(database);
        int runs = Read(store, s => s.Runs(experiment).Count);
        // Written next to FILE and moved over it at the end: a failed export leaves no half-written FILE.
        string? temporary = file is null ? null : file + ".tmp";
        try
        {
            using (var writer = temporary is null ? null : new StreamWriter(temporary))
            {
                var destination = writer ?? output;
                Read(store, s =>
                {
                    if (options.Flag("metrics")) CsvExport.WriteMetrics(s, destination, experiment);
                    else CsvExport.WriteRuns(s, destination, experiment);
                    return 0;
                });
            }
            if (temporary is not null) File.Move(temporary, file!, overwrite: true);
        }
        finally
        {
            if (temporary is not null && File.Exists(temporary)) File.Delete(temporary);
        }
        NoteUnknownExperiment(store, experiment, runs, error);
        return CommandExitCodes.Ok;
    }

    private static int Merge(CommandArguments options, TextWriter output)
    {
        if (options.Positional.Count == 0) throw new ArgumentException("name at least one database to merge (SHARD.db...)");
        string target = Path.GetFullPath(options.Value("db") ?? DefaultDatabase());
        if (Directory.Exists(target)) throw new ArgumentException($"--db {target} is a folder, not a database");
        if (File.Exists(target) && new FileInfo(target).Length > 0) RequireResultsDatabase(target, "--db");
        // Every source is checked before anything is merged: a typo in the third name must not leave two merged.
        var sources = Existing(options.Positional, "SHARD.db");
        var excluded = Existing(options.Values("not-in"), "--not-in");
        foreach (string source in sources)
            if (Path.GetFullPath(source) == target) throw new ArgumentException($"{source} is the database merged into (--db): it cannot merge into itself");
        if (excluded.Any(path => Path.GetFullPath(path) == target))
            throw new ArgumentException($"--not-in {target} is the database merged into (--db)");
        RunSet? leaveOut = options.Values("not-in").Count == 0 ? null : Read(excluded, RunSet.Of);
        using var store = new ResultsStore(target);
        foreach (string source in sources)
        {
            MergeReport report;
            try { report = store.MergeFrom(source, leaveOut); }
            catch (SqliteException e) { throw new InvalidDataException($"merging {source} into {target}: {e.Message}", e); }
            output.WriteLine($"{source}: {report.RunsCopied} runs copied, {report.RunsSkipped} already present" +
                             (leaveOut is null ? "" : $" (runs of {string.Join(", ", options.Values("not-in"))} left out)"));
        }
        return CommandExitCodes.Ok;
    }

    /// <summary>The results databases that paths name (a folder: its *.db files), each checked; a folder without any is refused.</summary>
    private static IReadOnlyList<string> Existing(IReadOnlyList<string> paths, string what)
    {
        foreach (string path in paths)
            if (!Directory.Exists(path)) RequireResultsDatabase(path, what);
            else if (Directory.GetFiles(path, "*.db").Length == 0) throw new ArgumentException($"{what} {path} is a folder without results databases (*.db)");
        var databases = ResultsStore.Databases(paths);
        foreach (string database in databases) RequireResultsDatabase(database, what);
        return databases;
    }

    private static T Read<T>(IReadOnlyList<string> databases, Func<IReadOnlyList<string>, T> read)
    {
        try { return read(databases); }
        catch (SqliteException e) { throw new InvalidDataException($"reading {string.Join(", ", databases)}: {e.Message}", e); }
    }

    /// <summary>The database list or csv reads: DB or --db DB (not both), else data/results.db; it must exist.</summary>
    private static string DatabaseToRead(CommandArguments options, string verb)
    {
        if (options.Positional.Count > 1)
            throw new ArgumentException($"{verb} reads one database, got {options.Positional.Count}: {string.Join(' ', options.Positional)} " +
                                        "(lab results merge folds several into one)");
        string? named = options.Positional.FirstOrDefault();
        if (named is not null && options.Value("db") is { } db)
            throw new ArgumentException($"name the database once, as DB or as --db, not both ('{named}' and '{db}')");
        named ??= options.Value("db");
        if (named is not null)
        {
            RequireResultsDatabase(named, "DB");
            return named;
        }
        string fallback = DefaultDatabase();
        if (!File.Exists(fallback))
            throw new FileNotFoundException($"there is no results database at {fallback} yet (a notebook's sweep writes it); name one: lab results {verb} DB");
        return fallback;
    }

    private static string DefaultDatabase() => ResultsStore.DefaultPath();   // LORALAB_RESULTS_DB, else data/results.db

    /// <summary>--out FILE: not a folder, in a folder that exists, and not the database being read.</summary>
    private static string CheckedOutFile(string file, string database)
    {
        string full = Path.GetFullPath(file);
        if (Directory.Exists(full)) throw new ArgumentException($"--out {file} is a folder; name a file");
        string? folder = Path.GetDirectoryName(full);
        if (folder is not null && !Directory.Exists(folder)) throw new ArgumentException($"--out {file}: there is no folder {folder}");
        if (full == Path.GetFullPath(database)) throw new ArgumentException($"--out {file} is the database being read; it would be overwritten");
        return full;
    }

    /// <summary>
    /// Throws an ArgumentException naming the path unless it is an existing results database (an SQLite file with the
    /// store's runs table), read without changing it. `what` names the argument in the message ("DB", "--db", ...).
    /// </summary>
    public static void RequireResultsDatabase(string path, string what)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new ArgumentException($"{what} {path} is a folder, not a results database");
        if (!File.Exists(full)) throw new ArgumentException($"{what} {path}: there is no such file" + (full == path ? "" : $" ({full})"));
        var header = new byte[16];
        int read;
        using (var stream = File.OpenRead(full)) read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < header.Length || !header.AsSpan().SequenceEqual("SQLite format 3\0"u8))
            throw new ArgumentException($"{what} {path} is not an SQLite database, so not a results database");
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('runs', 'metrics')";
        if (Convert.ToInt64(command.ExecuteScalar()) != 2)
            throw new ArgumentException($"{what} {path} is an SQLite database but not a results database (it has no runs and metrics tables)");
    }

    // A read that fails inside SQLite says which database it was.
    private static T Read<T>(ResultsStore store, Func<ResultsStore, T> read)
    {
        try { return read(store); }
        catch (SqliteException e) { throw new InvalidDataException($"{store.Path}: {e.Message}", e); }
    }

    /// <summary>An --experiment that matches nothing is most often a typo: say so, and which experiments there are.</summary>
    private static void NoteUnknownExperiment(ResultsStore store, string? experiment, int runs, TextWriter error)
    {
        if (experiment is null || runs > 0) return;
        var known = Read(store, s => s.Runs().Select(r => r.Experiment).Distinct().Order(StringComparer.Ordinal).ToList());
        error.WriteLine($"lab results: no runs of experiment '{experiment}' in {store.Path} " +
                        (known.Count == 0 ? "(it has no runs)" : $"(its experiments: {string.Join(", ", known)})"));
    }
}
