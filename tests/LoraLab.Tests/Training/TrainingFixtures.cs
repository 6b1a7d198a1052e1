using LoraLab.Data;
using LoraLab.Data.Tests;

namespace LoraLab.Tests.Training;

/// <summary>The committed fixture corpora (tests/fixtures/packages) and throw-away folders.</summary>
public static class TrainingFixtures
{
    public static DataRoot Corpora() => TestPaths.Fixtures();

    /// <summary>A new empty folder under the system temp folder (left for the OS to clean).</summary>
    public static string NewFolder()
    {
        string path = Path.Combine(Path.GetTempPath(), "loralab-training-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
