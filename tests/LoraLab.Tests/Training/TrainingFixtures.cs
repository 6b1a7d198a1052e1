using LoraLab.Data;

namespace LoraLab.Tests.Training;

/// <summary>The committed fixture corpora (tests/fixtures/packages) and throw-away folders.</summary>
public static class TrainingFixtures
{
    public static DataRoot Corpora()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "fixtures", "packages");
            if (Directory.Exists(candidate)) return new DataRoot(candidate);
        }
        throw new DirectoryNotFoundException("tests/fixtures/packages not found above " + AppContext.BaseDirectory);
    }

    public static string NewFolder()
    {
        string path = Path.Combine(Path.GetTempPath(), "loralab-training-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
