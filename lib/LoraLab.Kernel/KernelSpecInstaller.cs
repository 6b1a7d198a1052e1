using System.Text.Json.Nodes;

namespace LoraLab.Kernel;

/// <summary>
/// Writes (or removes) the kernelspec "loralab-csharp": a folder with a kernel.json telling Jupyter front ends how
/// to start this kernel. Installed per user by default (Jupyter's user data directory), or under a prefix
/// (e.g. a virtual environment's sys.prefix: PREFIX/share/jupyter/kernels).
/// </summary>
public static class KernelSpecInstaller
{
    public const string Name = "loralab-csharp";
    public const string DisplayName = "C# (LoraLab)";

    /// <summary>The kernels folder: PREFIX/share/jupyter/kernels, or the user's Jupyter data directory's kernels.</summary>
    public static string KernelsDirectory(string? prefix) =>
        prefix is not null ? Path.Combine(Path.GetFullPath(prefix), "share", "jupyter", "kernels") : Path.Combine(UserDataDirectory(), "kernels");

    // Where jupyter_core looks (jupyter --data-dir): JUPYTER_DATA_DIR, else per platform.
    static string UserDataDirectory()
    {
        if (Environment.GetEnvironmentVariable("JUPYTER_DATA_DIR") is { Length: > 0 } explicitDirectory) return explicitDirectory;
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (OperatingSystem.IsWindows()) return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "jupyter");
        if (OperatingSystem.IsMacOS()) return Path.Combine(home, "Library", "Jupyter");
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        return Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".local", "share") : xdg, "jupyter");
    }

    /// <summary>Writes kernel.json and returns its folder. The command line is this very build of the kernel.</summary>
    public static string Install(string? prefix)
    {
        var directory = Path.Combine(KernelsDirectory(prefix), Name);
        Directory.CreateDirectory(directory);
        var spec = new JsonObject
        {
            ["argv"] = new JsonArray(CommandLine().Append("-f").Append("{connection_file}").Select(arg => (JsonNode?)arg).ToArray()),
            ["display_name"] = DisplayName,
            ["language"] = "C#",
            // Interrupts arrive as interrupt_request on the control channel (SIGINT works too, e.g. from a terminal).
            ["interrupt_mode"] = "message",
            ["metadata"] = new JsonObject { ["debugger"] = false },
        };
        File.WriteAllText(Path.Combine(directory, "kernel.json"), spec.ToJsonString(new() { WriteIndented = true }) + "\n");
        return directory;
    }

    /// <summary>Removes the kernelspec; returns its folder, or null when it was not installed there.</summary>
    public static string? Uninstall(string? prefix)
    {
        var directory = Path.Combine(KernelsDirectory(prefix), Name);
        if (!Directory.Exists(directory)) return null;
        Directory.Delete(directory, recursive: true);
        return directory;
    }

    // `dotnet loralab-kernel.dll` when run through the dotnet host, else the native launcher itself.
    static IEnumerable<string> CommandLine()
    {
        var process = Environment.ProcessPath ?? "dotnet";
        var assembly = typeof(KernelSpecInstaller).Assembly.Location;
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, assembly] : [process];
    }
}
