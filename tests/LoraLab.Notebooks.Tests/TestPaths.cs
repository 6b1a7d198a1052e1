namespace LoraLab.Notebooks.Tests;

/// <summary>Where things are: the repository root (found upwards from the test binaries), the test notebook, temp folders.</summary>
static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string TestNotebook => Path.Combine(RepositoryRoot, "tests", "notebooks", "runner-test.ipynb");

    /// <summary>The built `lab` (the test project references LoraLab.Cli so that it is built first).</summary>
    public static string LabDll => Path.Combine(RepositoryRoot, "lib", "LoraLab.Cli", "bin", "Release", "net10.0", "lab.dll");

    /// <summary>The dotnet host that runs the tests, to start lab.dll with.</summary>
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>How `lab run` started from a test starts its worker processes: the built lab.dll's hidden run-worker command.</summary>
    public static IReadOnlyList<string> WorkerCommand
    {
        get
        {
            Assert.True(File.Exists(LabDll), $"{LabDll} is missing: build in Release first (./lab build).");
            return [Dotnet, LabDll, "run-worker"];
        }
    }

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
