using System.Diagnostics;

namespace LoraLab.Data.Sweeps;

/// <summary>The commit the code was built from, recorded with every run so results can be traced to code.</summary>
public static class GitInfo
{
    /// <summary>`git rev-parse HEAD` (with "+dirty" if there are uncommitted changes), or null if git is unavailable.</summary>
    public static string? CurrentCommit(string? workingDirectory = null)
    {
        string? head = RunGit("rev-parse HEAD", workingDirectory);
        if (head is null) return null;
        string? changes = RunGit("status --porcelain --untracked-files=no", workingDirectory);
        return string.IsNullOrWhiteSpace(changes) ? head : head + "+dirty";
    }

    private static string? RunGit(string arguments, string? workingDirectory)
    {
        try
        {
            var start = new ProcessStartInfo("git", arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
            };
            using var process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}
