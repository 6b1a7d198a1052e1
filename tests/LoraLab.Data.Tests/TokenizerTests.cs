using System.Text;
using LoraLab.Data.Corpora;
using LoraLab.Data.Tokenization;

namespace LoraLab.Data.Tests;

public class TokenizerTests
{
    private static readonly DataRoot Fixtures = TestPaths.Fixtures();

    private static List<TextDocument> AllFixtureDocuments() =>
    [
        .. BrownCorpus.Load(Fixtures), .. StateOfTheUnionCorpus.Load(Fixtures),
        .. SpamAssassinCorpus.Load(Fixtures), .. LodashCorpus.Load(Fixtures),
    ];

    // Trained once for the class: training is deterministic, so sharing it hides nothing.
    private static readonly Lazy<BpeTokenizer> Trained = new(() => BpeTrainer.Train(AllFixtureDocuments().Select(d => d.Text), vocabularySize: 600));

    [Fact]
    public void Encode_then_decode_returns_the_original_text_for_every_fixture()
    {
        var tokenizer = Trained.Value;
        foreach (var document in AllFixtureDocuments())
        {
            int[] ids = tokenizer.Encode(document.Text);
            Assert.Equal(document.Text, tokenizer.Decode(ids));
            Assert.True(ids.Length < Encoding.UTF8.GetByteCount(document.Text), $"merges should compress {document.Id}");
        }
    }

    [Fact]
    public void Encode_then_decode_returns_random_unicode_strings()
    {
        var tokenizer = Trained.Value;
        var random = new Random(1234);
        for (int trial = 0; trial < 300; trial++)
        {
            var text = new StringBuilder();
            int length = random.Next(0, 40);
            for (int i = 0; i < length; i++)
            {
                // Mix ASCII, Latin/Greek/CJK, whitespace, and astral-plane characters (surrogate pairs); skip the surrogate range itself.
                int codePoint = random.Next(4) switch
                {
                    0 => random.Next(0x20, 0x7F),
                    1 => random.Next(0xA0, 0xD800),
                    2 => " \t\n\r"[random.Next(4)],
                    _ => random.Next(0x10000, 0x10FFFF),
                };
                text.Append(char.ConvertFromUtf32(codePoint));
            }
            string original = text.ToString();
            Assert.Equal(original, tokenizer.Decode(tokenizer.Encode(original)));
        }
    }

    [Fact]
    public void Saved_and_loaded_tokenizer_encodes_identically()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        var tokenizer = Trained.Value;
        tokenizer.Save(folder.File("tokenizer.json"));
        var loaded = BpeTokenizer.Load(folder.File("tokenizer.json"));
        Assert.Equal(tokenizer.Hash, loaded.Hash);
        Assert.Equal(tokenizer.VocabularySize, loaded.VocabularySize);
        string sample = string.Join("\n", AllFixtureDocuments().Select(d => d.Text));
        Assert.Equal(tokenizer.Encode(sample), loaded.Encode(sample));
    }

    [Fact]
    public void Vocabulary_is_bytes_plus_merges_plus_special_tokens()
    {
        var tokenizer = Trained.Value;
        Assert.Equal(600, tokenizer.VocabularySize);
        Assert.Equal(600 - 256 - 2, tokenizer.MergeCount);
        Assert.Equal(598, tokenizer.EndOfTextId);
        Assert.Equal(599, tokenizer.PadId);
        Assert.Equal("a<|endoftext|>b", tokenizer.Decode([.. tokenizer.Encode("a"), tokenizer.EndOfTextId, .. tokenizer.Encode("b")]));
        // Special-token text typed by a user is NOT turned into the special id.
        Assert.DoesNotContain(tokenizer.EndOfTextId, tokenizer.Encode("<|endoftext|>"));
    }

    [Fact]
    public void Training_is_deterministic()
    {
        var texts = AllFixtureDocuments().Select(d => d.Text).ToList();
        Assert.Equal(BpeTrainer.Train(texts, 400).ToJson(), BpeTrainer.Train(texts, 400).ToJson());
    }

    [Fact]
    public void Pre_tokenizer_keeps_words_apart_and_splits_digits()
    {
        var pieces = new PreTokenizer().Split("Hello, world! It's 2024.");
        Assert.Equal(["Hello", ",", " world", "!", " It", "'s", " 2", "0", "2", "4", "."], pieces);
        Assert.Equal("Hello, world! It's 2024.", string.Concat(pieces));
    }

    [Fact]
    public void Merges_never_cross_a_space_between_words()
    {
        var tokenizer = Trained.Value;
        for (int id = 256; id < 256 + tokenizer.MergeCount; id++)
        {
            string text = Encoding.UTF8.GetString(tokenizer.TokenBytes(id));
            // A space may only lead a token (GPT-2 style " word") or be part of a run of whitespace;
            // a space right after a non-space character would mean the merge spans two words.
            for (int i = 1; i < text.Length; i++)
                Assert.False(text[i] == ' ' && !char.IsWhiteSpace(text[i - 1]), $"merge {id} crosses a word boundary: '{text}'");
        }
    }
}
