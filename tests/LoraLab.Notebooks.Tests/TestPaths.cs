namespace LoraLab.Notebooks.Tests;

/// <summary>Where things are: the repository root (found upwards from the test binaries), the test notebook, temp folders.</summary>
static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string TestNotebook => Path.Combine(RepositoryRoot, "tests", "notebooks", "runner-test.ipynb");

    /// <summary>A fresh folder under the test output folder (bin/...), kept after the run for inspection.</summary>
    public static string NewOutputFolder(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "test-output", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        return folder;
    }

    static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "LoraLab.slnx"))) return folder.FullName;
        throw new InvalidOperationException("LoraLab.slnx not found above " + AppContext.BaseDirectory);
    }
}
