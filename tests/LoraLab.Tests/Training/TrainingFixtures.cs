using LoraLab.Data;
using LoraLab.Data.Tests;
using LoraLab.Experiments;

namespace LoraLab.Tests.Training;

/// <summary>The committed fixture corpora (tests/fixtures/packages) and throw-away folders.</summary>
public static class TrainingFixtures
{
    public static DataRoot Corpora() => TestPaths.Fixtures();

    private static readonly Lazy<string> withCodeFiles = new(() =>
    {
        string from = Corpora().PackagesDirectory, to = Path.Combine(NewFolder(), "packages");
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        string lodash = Path.Combine(to, "lodash");
        foreach (string file in Directory.GetFiles(lodash, "*.js").Where(f => !f.EndsWith(".min.js")))
            for (int i = 0; i < 20; i++)
                File.Copy(file, Path.Combine(lodash, $"{Path.GetFileNameWithoutExtension(file)}{i}.js"));
        foreach (string file in Directory.GetFiles(Path.Combine(to, "@stdlib", "datasets-spam-assassin"), "*.json", SearchOption.AllDirectories))
            for (int i = 0; i < 5; i++)
                File.Copy(file, Path.Combine(Path.GetDirectoryName(file)!, $"{i}{Path.GetFileName(file)}"));
        return to;
    });

    /// <summary>The fixture corpora's packages folder with each lodash module copied under 20 more names: the code
    /// domain's 80/10/10 split by file (CodeSplits) needs more files than the fixture's five for its validation and test
    /// splits to hold a window each; and each SpamAssassin message under 5 more names, so that the spam task's test split
    /// (10% of the messages) is not empty. Made once per test process.</summary>
    public static string CorporaWithCodeFiles() => withCodeFiles.Value;

    private static readonly Lazy<string> codeCache = new(NewFolder);

    /// <summary>Runs <paramref name="body"/> with <see cref="CorporaWithCodeFiles"/> as the corpora and one cache folder,
    /// shared by the tests that use it (so the tiny base is pretrained on these corpora once per test process), as the
    /// sweep tasks' sources (LORALAB_DATA_ROOT and LORALAB_CACHE_DIR); restores both afterwards.</summary>
    public static T WithCodeCorpora<T>(Func<T> body)
    {
        var saved = (Environment.GetEnvironmentVariable("LORALAB_DATA_ROOT"), Environment.GetEnvironmentVariable(TaskBases.CacheVariable));
        Environment.SetEnvironmentVariable("LORALAB_DATA_ROOT", CorporaWithCodeFiles());
        Environment.SetEnvironmentVariable(TaskBases.CacheVariable, codeCache.Value);
        try { return body(); }
        finally
        {
            Environment.SetEnvironmentVariable("LORALAB_DATA_ROOT", saved.Item1);
            Environment.SetEnvironmentVariable(TaskBases.CacheVariable, saved.Item2);
        }
    }

    /// <summary>A new empty folder under the system temp folder (left for the OS to clean).</summary>
    public static string NewFolder()
    {
        string path = Path.Combine(Path.GetTempPath(), "loralab-training-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
