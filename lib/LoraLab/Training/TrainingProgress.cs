using System.Diagnostics;

namespace LoraLab.Training;

/// <summary>
/// Shows a training loop's progress on standard error: a bar redrawn in place when that is a
/// terminal, and plain periodic lines when it is redirected (a log file, CI, a notebook runner).
/// </summary>
public sealed class TrainingProgress : IDisposable
{
    private readonly string label;
    private readonly long total;
    private readonly bool interactive;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly TextWriter output;
    private TimeSpan lastDrawn = TimeSpan.Zero;
    private long tokens;

    public TrainingProgress(string label, long total, TextWriter? output = null)
    {
        this.label = label;
        this.total = total;
        this.output = output ?? Console.Error;
        interactive = output is null && !Console.IsErrorRedirected;
    }

    /// <summary>Reports a finished step; redraws at most 10 times a second (a line every 5 s when redirected).</summary>
    public void Report(long step, double loss, long stepTokens)
    {
        tokens += stepTokens;
        var now = clock.Elapsed;
        bool last = step >= total;
        var every = interactive ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(5);
        if (!last && now - lastDrawn < every) return;
        lastDrawn = now;
        double rate = tokens / Math.Max(now.TotalSeconds, 1e-9);
        string text = $"{label} {step}/{total} loss {loss:F4} {rate:F0} tok/s {now:mm\\:ss}";
        if (interactive)
        {
            int width = 30, filled = (int)(width * step / Math.Max(total, 1));
            output.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {text}   ");
            if (last) output.WriteLine();
        }
        else output.WriteLine(text);
    }

    public void Dispose()
    {
        if (interactive && lastDrawn != TimeSpan.Zero) output.Flush();
    }
}
