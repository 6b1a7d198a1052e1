using System.Diagnostics;

namespace LoraLab.Notebooks.Tests;

/// <summary>Opens the default run's HTML report in headless Chromium from a file URL, offline, as a reader would.</summary>
[Collection(DefaultRunCollection.Name)]
public class BrowserTests(DefaultRunFixture run)
{
    const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Report_draws_the_plotly_chart_offline_without_script_errors()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install it with `apt-get install -y chromium`.");
        Assert.True(run.ExitCode == 0, run.Log);

        var (dom, log) = await RunChromium("--dump-dom", new Uri(run.ReportPath).AbsoluteUri);

        Assert.Contains("class=\"loralab-figure", dom);
        Assert.Contains("class=\"main-svg\"", dom); // plotly.js replaced the empty div with its drawing
        Assert.DoesNotContain("Uncaught", log);
        Assert.DoesNotContain("<title>pwned</title>", dom); // the displayed <script> string did not run

        var screenshot = Path.Combine(run.OutputFolder, "report.png");
        await RunChromium($"--screenshot={screenshot}", "--window-size=1200,2000", new Uri(run.ReportPath).AbsoluteUri);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot should show a rendered page");
    }

    /// <summary>Runs headless Chromium with a throwaway profile; returns stdout (e.g. the dumped DOM) and its log.</summary>
    static async Task<(string Stdout, string Log)> RunChromium(params string[] args)
    {
        var profile = Directory.CreateTempSubdirectory("loralab-chromium-");
        try
        {
            var start = new ProcessStartInfo(Chromium)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
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
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try { await process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw new TimeoutException("chromium took over 60 s"); }
            return (await stdout, await stderr);
        }
        finally
        {
            try { profile.Delete(recursive: true); } catch (IOException) { /* chromium may still hold a lock file */ }
        }
    }
}
