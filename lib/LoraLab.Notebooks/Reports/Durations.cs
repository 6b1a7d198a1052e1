using System.Globalization;

namespace LoraLab.Notebooks.Reports;

/// <summary>Wall times as the terminal, the reports and the index show them: "0.16 s", "2.3 s", "4 min 05 s", "1 h 02 min".</summary>
public static class Durations
{
    public static string Format(TimeSpan time)
    {
        var seconds = Math.Max(0, time.TotalSeconds);
        if (seconds < 1) return seconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";
        if (seconds < 59.95) return seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
        var whole = (long)Math.Round(seconds);
        if (whole < 3600) return $"{whole / 60} min {whole % 60:00} s";
        var minutes = (long)Math.Round(seconds / 60);
        return $"{minutes / 60} h {minutes % 60:00} min";
    }

    public static string FormatSeconds(double seconds) => Format(TimeSpan.FromSeconds(double.IsFinite(seconds) ? seconds : 0));
}
