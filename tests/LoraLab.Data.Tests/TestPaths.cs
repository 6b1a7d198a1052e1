using LoraLab.Data;

namespace LoraLab.Data.Tests;

/// <summary>Locations the tests use: the committed fixture corpora and throw-away temporary folders.</summary>
public static class TestPaths
{
    /// <summary><c>tests/fixtures/packages</c>, found by walking up from the test assembly, else from the current folder
    /// (the GPU machine's packed test runner lives outside the repository and runs from its root).</summary>
    public static DataRoot Fixtures()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "tests", "fixtures", "packages");
                if (Directory.Exists(candidate))
                    return new DataRoot(candidate);
            }
        throw new DirectoryNotFoundException($"tests/fixtures/packages not found above {AppContext.BaseDirectory} or {Directory.GetCurrentDirectory()}");
    }

    /// <summary>A new empty folder under the system temp folder, deleted when disposed.</summary>
    public static TemporaryFolder NewTemporaryFolder() => new();
}

public sealed class TemporaryFolder : IDisposable
{
    public TemporaryFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "loralab-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
