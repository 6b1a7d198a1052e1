namespace LoraLab.Cli.Sweeps;

/// <summary>The parsed command line of `lab sweep`: a verb, positional words, --name value options and flags.</summary>
public sealed class SweepArguments
{
    private static readonly HashSet<string> Flags = ["slurm", "dry-run"];
    private static readonly HashSet<string> Valued =
        ["profile", "shards", "partition", "gres", "time", "cpus-per-task", "sbatch-arg", "param", "store", "run-dir", "lab"];

    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly List<string> _positional = [];

    public string Verb { get; private init; } = "";
    public bool Slurm { get; private set; }
    public bool DryRun { get; private set; }
    public List<string> Params { get; } = [];
    public List<string> SbatchArgs { get; } = [];

    public static SweepArguments Parse(IReadOnlyList<string> args)
    {
        var parsed = new SweepArguments { Verb = args.Count > 0 ? args[0] : "" };
        for (int i = 1; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal)) { parsed._positional.Add(arg); continue; }
            string name = arg[2..];
            if (Flags.Contains(name))
            {
                if (name == "slurm") parsed.Slurm = true; else parsed.DryRun = true;
                continue;
            }
            if (!Valued.Contains(name)) throw new ArgumentException($"unknown option '{arg}'");
            if (i + 1 >= args.Count) throw new ArgumentException($"{arg} needs a value");
            string value = args[++i];
            switch (name)
            {
                case "param":
                    if (value.IndexOf('=') <= 0) throw new ArgumentException($"--param wants NAME=VALUE, got '{value}'");
                    if (value.Split('=')[0] is "shard" or "store_path")
                        throw new ArgumentException($"--param {value.Split('=')[0]} is set by the sweep itself (one shard and one database per task)");
                    parsed.Params.Add(value);
                    break;
                case "sbatch-arg": parsed.SbatchArgs.Add(value); break;
                default: parsed._values[name] = value; break;
            }
        }
        return parsed;
    }

    public string? Value(string name) => _values.GetValueOrDefault(name);

    public int Int(string name, int fallback, int minimum)
    {
        if (Value(name) is not { } text) return fallback;
        if (!int.TryParse(text, out int value) || value < minimum)
            throw new ArgumentException($"--{name} wants a whole number >= {minimum}, got '{text}'");
        return value;
    }

    /// <summary>The one positional word a verb takes (NOTEBOOK, RUN); an error names what is missing or extra.</summary>
    public string Single(string what) => _positional.Count switch
    {
        1 => _positional[0],
        0 => throw new ArgumentException($"{Verb} needs {what}"),
        _ => throw new ArgumentException($"{Verb} takes one {what}, got: {string.Join(' ', _positional)}"),
    };
}
