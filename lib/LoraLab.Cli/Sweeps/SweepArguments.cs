using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Runner;

namespace LoraLab.Cli.Sweeps;

/// <summary>
/// The parsed command line of `lab sweep`: a verb, positional words, --name value (or --name=value) options and flags,
/// each checked against what the verb accepts. Bad input is an <see cref="ArgumentException"/> naming it.
/// </summary>
public sealed class SweepArguments
{
    private static readonly Dictionary<string, (string[] Flags, string[] Valued)> Verbs = new()
    {
        ["submit"] = (["slurm", "dry-run"],
            ["profile", "shards", "partition", "gres", "time", "cpus-per-task", "sbatch-arg", "param", "store", "run-dir", "lab"]),
        ["status"] = ([], []),
        ["resubmit"] = (["dry-run"], []),
    };

    private CommandArguments _options = null!;

    public string Verb { get; private init; } = "";
    public bool Help => _options.Help;
    public bool Slurm => _options.Flag("slurm");
    public bool DryRun => _options.Flag("dry-run");
    public IReadOnlyList<string> Params => _options.Values("param");
    public IReadOnlyList<string> SbatchArgs => _options.Values("sbatch-arg");

    public static SweepArguments Parse(IReadOnlyList<string> args)
    {
        string verb = args.Count > 0 ? args[0] : "";
        if (!Verbs.TryGetValue(verb, out var accepted))
            throw new ArgumentException(verb == "" ? "name a verb: submit, status or resubmit"
                : verb.StartsWith('-') ? $"name a verb (submit, status or resubmit) before the options, got '{verb}'"
                : $"unknown verb '{verb}'; use submit, status or resubmit");
        var options = CommandArguments.Parse(args.Skip(1).ToList(), accepted.Flags, accepted.Valued,
            repeatable: ["param", "sbatch-arg"], dashValues: ["sbatch-arg"],
            elsewhere: name => Verbs.Where(v => v.Value.Flags.Contains(name) || v.Value.Valued.Contains(name))
                                    .Select(v => $"'--{name}' is an option of lab sweep {v.Key}, not of {verb}").FirstOrDefault());
        foreach (string param in options.Values("param"))
        {
            int equals = param.IndexOf('=');
            if (equals <= 0) throw new ArgumentException($"--param wants NAME=VALUE, got '{param}'");
            string name = param[..equals].Trim();
            if (name is "shard" or "store_path")
                throw new ArgumentException($"--param {name} is set by the sweep itself (one shard and one database per task)");
            if (!ParameterInjection.IsValidName(name))
                throw new ArgumentException($"--param {param}: '{name}' is not a valid C# variable name");
        }
        if (options.Value("profile") is { } profile && !RunOptions.Profiles.Contains(profile))
            throw new ArgumentException($"unknown profile '{profile}'; use one of {string.Join(", ", RunOptions.Profiles)}");
        foreach (string name in new[] { "partition", "gres" })
            if (options.Value(name) is { } value && value.Any(char.IsWhiteSpace))
                throw new ArgumentException($"--{name} '{value}' has a space in it: Slurm names have none");
        foreach (string arg in options.Values("sbatch-arg"))
            if (!arg.StartsWith('-'))
                throw new ArgumentException($"--sbatch-arg '{arg}' is not an sbatch option (it starts with -, e.g. --sbatch-arg=--qos=long)");
        return new SweepArguments { Verb = verb, _options = options };
    }

    public string? Value(string name) => _options.Value(name);

    public int Int(string name, int fallback, int minimum) => _options.Int(name, fallback, minimum);

    /// <summary>The one positional word a verb takes (NOTEBOOK, RUN); an error names what is missing or extra.</summary>
    public string Single(string what) => _options.Positional.Count switch
    {
        1 => _options.Positional[0],
        0 => throw new ArgumentException($"{Verb} needs {what}"),
        _ => throw new ArgumentException($"{Verb} takes one {what}, got: {string.Join(' ', _options.Positional)}"),
    };
}
