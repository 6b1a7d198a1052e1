using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace LoraLab.Notebooks.Tests;

/// <summary>Headless Chromium for the report tests: a throwaway profile, no network services, a time limit.</summary>
static class Chromium
{
    public const string Path = "/usr/bin/chromium";

    /// <summary>Why a Chromium test cannot run here, or null when it can.</summary>
    public static string? Missing => File.Exists(Path) ? null : $"{Path} is missing: install it with `apt-get install -y chromium`.";

    /// <summary>Runs headless Chromium with the given arguments; returns stdout (e.g. the dumped DOM) and its log.</summary>
    public static async Task<(string Stdout, string Log)> Run(params string[] args)
    {
        var profile = Directory.CreateTempSubdirectory("loralab-chromium-");
        try
        {
            var start = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[]
                     {
                         "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", $"--user-data-dir={profile.FullName}",
                     }.Concat(args))
                start.ArgumentList.Add(arg);

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            try { await process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw new TimeoutException("chromium took over 90 s"); }
            return (await stdout, await stderr);
        }
        finally
        {
            try { profile.Delete(recursive: true); } catch (IOException) { /* chromium may still hold a lock file */ }
        }
    }

    /// <summary>
    /// Prints a page to PDF as a reader would (`chromium --headless --print-to-pdf`) and returns the PDF's title, which
    /// Chromium takes from document.title as it was when the page was laid out for print: a page can report what it
    /// measured then by setting its title. The Info dictionary of Chromium's PDFs is not compressed.
    /// </summary>
    public static async Task<(string Title, int Pages, string Pdf)> PrintToPdf(string htmlPath)
    {
        var pdf = System.IO.Path.ChangeExtension(htmlPath, ".pdf");
        File.Delete(pdf);
        var (_, log) = await Run("--no-pdf-header-footer", $"--print-to-pdf={pdf}", new Uri(htmlPath).AbsoluteUri);
        Assert.True(File.Exists(pdf), $"chromium wrote no PDF:\n{log}");
        var bytes = Encoding.Latin1.GetString(File.ReadAllBytes(pdf));
        var title = Regex.Match(bytes, @"/Title \(((?:\\.|[^\\)])*)\)");
        Assert.True(title.Success, $"no plain /Title in {pdf}");
        var pages = Regex.Matches(bytes, @"/Type\s*/Page\b").Count;
        return (Regex.Replace(title.Groups[1].Value, @"\\(.)", "$1"), pages, pdf);
    }
}

/// <summary>A test that needs headless Chromium: skipped, with the reason shown, where it is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Missing is { } reason) Skip = reason;
    }
}
