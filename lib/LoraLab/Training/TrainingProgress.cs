using System.Diagnostics;
using Spectre.Console;

namespace LoraLab.Training;

/// <summary>Receives each finished step: its number, its loss and the tokens it consumed.</summary>
public delegate void StepReport(long step, double loss, long tokens);

/// <summary>
/// Shows a training loop's progress on standard error: a Spectre.Console progress bar when that is
/// an interactive terminal, and plain lines every few seconds when it is redirected (a log file,
/// CI, the notebook runner), so logs stay readable.
/// </summary>
public static class TrainingProgress
{
    /// <summary>Runs body with a reporter; label null means no display at all.</summary>
    public static T Run<T>(string? label, long total, Func<StepReport, T> body)
    {
        if (label is null) return body((_, _, _) => { });
        if (Console.IsErrorRedirected) return body(new PlainLines(label, total, Console.Error).Report);

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (!console.Profile.Capabilities.Interactive) return body(new PlainLines(label, total, Console.Error).Report);
        return console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(label), maxValue: total);
                var rate = new TokenRate();
                return body((step, loss, tokens) =>
                {
                    task.Value = step;
                    task.Description = Markup.Escape($"{label}  loss {loss:F4}  {rate.Add(tokens):F0} tok/s");
                });
            });
    }

    private sealed class TokenRate
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private long tokens;

        public double Add(long count)
        {
            tokens += count;
            return tokens / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        }
    }

    // A line at most every 5 seconds, and always for the last step.
    private sealed class PlainLines(string label, long total, TextWriter output)
    {
        private readonly TokenRate rate = new();
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private TimeSpan lastLine = TimeSpan.FromSeconds(-10);

        public void Report(long step, double loss, long tokens)
        {
            double tokensPerSecond = rate.Add(tokens);
            var now = clock.Elapsed;
            if (step < total && now - lastLine < TimeSpan.FromSeconds(5)) return;
            lastLine = now;
            output.WriteLine($"{label} {step}/{total} loss {loss:F4} {tokensPerSecond:F0} tok/s {now:mm\\:ss}");
        }
    }
}
