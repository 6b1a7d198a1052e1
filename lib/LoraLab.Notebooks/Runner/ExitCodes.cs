namespace LoraLab.Notebooks.Runner;

/// <summary>
/// `lab run`'s exit codes (docs/notebooks.md lists them). When several notebooks end differently, the command exits with
/// the largest code, so the worst outcome shows.
/// </summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A cell failed, or a notebook file is missing or invalid.</summary>
    public const int Failed = 1;
    /// <summary>Bad arguments: an unknown option, a bad --param, an unusable --out; nothing ran.</summary>
    public const int BadArguments = 2;
    public const int TimedOut = 3;
    /// <summary>A cell ended the process (e.g. Environment.Exit) or the worker process died.</summary>
    public const int Exited = 4;
    /// <summary>Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    public static int Of(RunStatus status) => status switch
    {
        RunStatus.Ok or RunStatus.NotRun => Ok,
        RunStatus.Failed or RunStatus.Invalid => Failed,
        RunStatus.TimedOut => TimedOut,
        RunStatus.Exited => Exited,
        RunStatus.Interrupted => Interrupted,
        _ => Failed,
    };
}
