using System.Diagnostics;
using LoraLab.Data;

namespace LoraLab.Tests.Notebooks;

/// <summary>The built `lab` command, run as a user runs it: a child process in the repository root.</summary>
internal static class LabCommand
{
    /// <summary>Runs `lab` with the arguments; fails the test when it does not finish within 15 minutes.</summary>
    public static (int exitCode, string output) Run(params string[] arguments)
    {
        string root = DataRoot.RepositoryRoot();
        // LORALAB_LAB (as for sweep workers) names another lab: the GPU machine's packed, self-contained executable.
        string cli = Environment.GetEnvironmentVariable("LORALAB_LAB") is { Length: > 0 } lab ? lab
                   : Path.Combine(root, "lib", "LoraLab.Cli", "bin", "Release", "net10.0", "lab.dll");
        Assert.True(File.Exists(cli), $"{cli} is missing: run ./lab build first");
        bool dll = cli.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(dll ? "dotnet" : cli) { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        if (dll) start.ArgumentList.Add(cli);
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("lab run did not finish within 15 minutes");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
