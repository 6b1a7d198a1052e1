namespace LoraLab.Data.Corpora;

/// <summary>
/// The "code" domain: JavaScript source of lodash 4.17.21 (npm package <c>lodash</c>), one document per
/// module file (<c>map.js</c>, <c>_baseClone.js</c>, ...). The bundles <c>lodash.js</c> and <c>core.js</c>
/// repeat the modules' code, and <c>*.min.js</c> files are not source a person writes, so they are left out.
/// </summary>
public static class LodashCorpus
{
    public const string PackageName = "lodash";
    public const string Label = "code";

    private static readonly HashSet<string> Bundles = new(StringComparer.Ordinal) { "lodash.js", "core.js" };

    public static IReadOnlyList<TextDocument> Load(DataRoot root)
    {
        string folder = root.Package(PackageName);
        var documents = new List<TextDocument>();
        foreach (string path in Directory.EnumerateFiles(folder, "*.js").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            if (Bundles.Contains(name) || name.EndsWith(".min.js", StringComparison.Ordinal))
                continue;
            documents.Add(new TextDocument(name, Label, File.ReadAllText(path).Replace("\r\n", "\n")));
        }
        if (documents.Count == 0)
            throw new MissingCorpusException(PackageName, folder);
        return documents;
    }
}
