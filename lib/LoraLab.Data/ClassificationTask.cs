using LoraLab.Data.Corpora;

namespace LoraLab.Data;

/// <summary>One labelled text. <see cref="DocumentId"/> is the source document the text was cut from.</summary>
public sealed record ClassificationExample(string Text, int Label, string DocumentId);

/// <summary>
/// A GLUE-style sequence classification task: label names plus fixed train/validation/test splits.
/// Splits are made by source document (see <see cref="DatasetSplit"/>), so no document contributes to two splits.
/// </summary>
public sealed record ClassificationTask(
    string Name,
    IReadOnlyList<string> LabelNames,
    Splits<ClassificationExample> Splits)
{
    /// <summary>Spam vs ham on SpamAssassin message bodies (labels: 0 = ham, 1 = spam).</summary>
    public static ClassificationTask SpamVsHam(DataRoot root, int seed = 0, int maxChars = 1000)
    {
        string[] labels = [SpamAssassinCorpus.HamLabel, SpamAssassinCorpus.SpamLabel];
        var examples = SpamAssassinCorpus.Load(root, maxChars)
            .Where(d => d.Text.Length > 0)
            .Select(d => new ClassificationExample(d.Text, Array.IndexOf(labels, d.Label), d.Id));
        return new ClassificationTask("spam", labels, DatasetSplit.ByGroup(examples, e => e.DocumentId, e => labels[e.Label], seed));
    }

    /// <summary>
    /// Brown genre classification: each sample is cut into passages of <paramref name="passageWords"/>
    /// words, labelled with the sample's genre — the 4 coarse groups by default, or all 15 genres.
    /// </summary>
    public static ClassificationTask BrownGenre(DataRoot root, int seed = 0, bool coarse = true, int passageWords = 100)
    {
        var documents = BrownCorpus.Load(root);
        Func<TextDocument, string> labelOf = coarse ? d => BrownCorpus.CoarseGenre[d.Label] : d => d.Label;
        string[] labels = documents.Select(labelOf).Distinct().Order(StringComparer.Ordinal).ToArray();
        var examples = new List<ClassificationExample>();
        foreach (var document in documents)
        {
            int label = Array.IndexOf(labels, labelOf(document));
            foreach (string passage in Passages(document.Text, passageWords))
                examples.Add(new ClassificationExample(passage, label, document.Id));
        }
        string name = coarse ? "brown-genre-coarse" : "brown-genre";
        return new ClassificationTask(name, labels, DatasetSplit.ByGroup(examples, e => e.DocumentId, e => labels[e.Label], seed));
    }

    /// <summary>Consecutive non-overlapping runs of <paramref name="words"/> words; a short tail is dropped unless it is all there is.</summary>
    public static IEnumerable<string> Passages(string text, int words)
    {
        string[] tokens = text.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries);
        for (int start = 0; start < tokens.Length; start += words)
        {
            int count = Math.Min(words, tokens.Length - start);
            if (count < words / 2 && start > 0)
                yield break;
            yield return string.Join(' ', tokens, start, count);
        }
    }
}
