namespace LoraLab.Notebooks.Runner;

/// <summary>The checks on --out made before anything runs: a bad output folder is a bad argument, not a crash later.</summary>
public static class OutputFolder
{
    /// <summary>Creates the folder and checks it can be written, and that no executed copy would overwrite a source notebook.</summary>
    /// <exception cref="ArgumentException">With a message naming the folder or notebook and the problem.</exception>
    public static void Check(string folder, IReadOnlyList<string> notebooks)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".lab-write-check-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            var file = FileOnTheWay(folder);
            throw new ArgumentException(file is not null
                ? $"--out {folder}: {file} is a file, so the output folder cannot be created there."
                : $"--out {folder}: cannot write there ({error.Message}).");
        }

        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var notebook in notebooks)
        {
            var name = Path.GetFileNameWithoutExtension(notebook);
            var executed = Path.GetFullPath(Path.Combine(folder, name + ".ipynb"));
            if (File.Exists(notebook) && string.Equals(executed, Path.GetFullPath(notebook), StringComparison.Ordinal))
                throw new ArgumentException($"--out {folder} is the folder of {notebook}: its executed copy would overwrite the source notebook. Choose another output folder.");
            if (byName.TryGetValue(name, out var other))
                throw new ArgumentException($"{other} and {notebook} have the same name, so their results would overwrite each other in {folder}; run them with different --out folders.");
            byName[name] = notebook;
        }
    }

    // The nearest existing ancestor (or the path itself) when it is a regular file.
    static string? FileOnTheWay(string folder)
    {
        for (var path = Path.GetFullPath(folder); !string.IsNullOrEmpty(path); path = Path.GetDirectoryName(path))
        {
            if (File.Exists(path)) return path;
            if (Directory.Exists(path)) return null;
        }
        return null;
    }
}
