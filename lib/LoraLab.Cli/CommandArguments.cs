namespace LoraLab.Cli;

/// <summary>The exit codes of `lab pretrain`, `lab results` and `lab sweep` (`lab run` has its own, a superset).</summary>
public static class CommandExitCodes
{
    public const int Ok = 0;
    /// <summary>The command line was fine, but the work failed: a file that cannot be read or written, Slurm failing.</summary>
    public const int Failed = 1;
    /// <summary>The command line is wrong: an unknown verb or option, a missing or malformed value, a missing or extra
    /// word, a named file or folder that does not exist or is not what it should be. Nothing was done.</summary>
    public const int BadArguments = 2;
}

/// <summary>
/// The options of one command, checked against what it accepts: `--name VALUE` or `--name=VALUE` for a valued option,
/// `--name` for a flag, other words positional (`--` ends the options). -h or --help anywhere asks for the usage.
/// Every problem is an <see cref="ArgumentException"/> whose message names the argument: an unknown option, a flag
/// given a value, a valued option without one (or with an empty one, or one with a line break), a single option given
/// twice.
/// </summary>
public sealed class CommandArguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly List<string> _positional = [];

    public bool Help { get; private set; }
    public IReadOnlyList<string> Positional => _positional;

    /// <param name="flags">Options without a value.</param>
    /// <param name="valued">Options with a value.</param>
    /// <param name="repeatable">Valued options that may be given more than once (the others: once at most).</param>
    /// <param name="dashValues">Valued options whose value may itself start with '-' (e.g. an argument passed on to
    /// another program); for the others, `--db --experiment x` means --db lacks its value.</param>
    /// <param name="elsewhere">The message for an option this verb does not take but another one does (e.g. "'--metrics' is
    /// an option of lab results csv, not of list"); null for an option unknown to every verb.</param>
    public static CommandArguments Parse(IReadOnlyList<string> args, IEnumerable<string> flags, IEnumerable<string> valued,
        IEnumerable<string>? repeatable = null, IEnumerable<string>? dashValues = null, Func<string, string?>? elsewhere = null)
    {
        var flagSet = flags.ToHashSet(StringComparer.Ordinal);
        var valuedSet = valued.ToHashSet(StringComparer.Ordinal);
        var repeatableSet = (repeatable ?? []).ToHashSet(StringComparer.Ordinal);
        var dashSet = (dashValues ?? []).ToHashSet(StringComparer.Ordinal);
        var parsed = new CommandArguments();
        bool optionsEnded = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (optionsEnded || !LooksLikeOption(arg))
            {
                parsed._positional.Add(arg);
                continue;
            }
            if (arg == "--") { optionsEnded = true; continue; }
            if (arg is "-h" or "--help") { parsed.Help = true; continue; }
            int equals = arg.IndexOf('=');
            string option = equals > 2 && arg.StartsWith("--", StringComparison.Ordinal) ? arg[..equals] : arg;
            string? inline = equals > 2 && arg.StartsWith("--", StringComparison.Ordinal) ? arg[(equals + 1)..] : null;
            string name = option.StartsWith("--", StringComparison.Ordinal) ? option[2..] : "";
            if (flagSet.Contains(name))
            {
                if (inline is not null) throw new ArgumentException($"{option} takes no value (got '{arg}')");
                if (!parsed._flags.Add(name)) throw new ArgumentException($"{option} is given twice");
                continue;
            }
            if (!valuedSet.Contains(name))
            {
                throw new ArgumentException((name == "" ? null : elsewhere?.Invoke(name)) ?? $"unknown option '{option}'");
            }
            string value;
            if (inline is not null) value = inline;
            else if (i + 1 < args.Count && (dashSet.Contains(name) || !LooksLikeOption(args[i + 1]))) value = args[++i];
            else throw new ArgumentException(i + 1 < args.Count ? $"{option} needs a value (got the option '{args[i + 1]}')" : $"{option} needs a value");
            if (value.Length == 0) throw new ArgumentException($"{option} needs a value (got an empty one)");
            if (value.Contains('\n') || value.Contains('\r')) throw new ArgumentException($"{option}: the value may not contain a line break");
            if (!parsed._values.TryGetValue(name, out var list)) parsed._values[name] = list = [];
            else if (!repeatableSet.Contains(name)) throw new ArgumentException($"{option} is given twice ('{list[0]}' and '{value}')");
            list.Add(value);
        }
        return parsed;
    }

    // "-3" is a (bad) number, "-" a word; "--x" and "-x" are options.
    private static bool LooksLikeOption(string arg) => arg.Length > 1 && arg[0] == '-' && !char.IsAsciiDigit(arg[1]) && arg[1] != '.';

    public bool Flag(string name) => _flags.Contains(name);

    public string? Value(string name) => _values.TryGetValue(name, out var list) ? list[0] : null;

    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var list) ? list : [];

    /// <summary>A whole number option, at least <paramref name="minimum"/>; the fallback when it is not given.</summary>
    public int Int(string name, int fallback, int minimum)
    {
        if (Value(name) is not { } text) return fallback;
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value) || value < minimum)
            throw new ArgumentException($"--{name} wants a whole number >= {minimum}, got '{text}'");
        return value;
    }
}
