using LoraLab.Data.Corpora;
using LoraLab.Data.Tokenization;

namespace LoraLab.Data.Tests;

public class TokenCacheTests
{
    private static readonly IReadOnlyList<string> Documents = BrownCorpus.Load(TestPaths.Fixtures()).Select(d => d.Text).ToList();
    private static readonly BpeTokenizer Tokenizer = BpeTrainer.Train(Documents, 400);

    [Fact]
    public void A_second_load_reads_the_cache_without_rebuilding()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        var messages = new List<string>();
        var built = TokenShardCache.LoadOrBuild(folder.Path, "brown", Documents, Tokenizer, messages.Add);
        Assert.Single(messages);
        var cached = TokenShardCache.LoadOrBuild(folder.Path, "brown", Documents, Tokenizer, messages.Add);
        Assert.Single(messages);
        Assert.Equal(built.Tokens, cached.Tokens);
        Assert.Equal(Documents.Count, built.Tokens.Count(t => t == Tokenizer.EndOfTextId));
        Assert.Equal(Documents[0], Tokenizer.Decode(built.Tokens.TakeWhile(t => t != Tokenizer.EndOfTextId).ToArray()));
    }

    [Theory]
    [InlineData("truncate")]
    [InlineData("flip-a-payload-byte")]
    [InlineData("garbage")]
    public void A_corrupt_cache_is_detected_and_rebuilt(string damage)
    {
        using var folder = TestPaths.NewTemporaryFolder();
        var good = TokenShardCache.LoadOrBuild(folder.Path, "brown", Documents, Tokenizer, _ => { });
        byte[] bytes = File.ReadAllBytes(good.Path);
        switch (damage)
        {
            case "truncate": bytes = bytes[..(bytes.Length - 7)]; break;
            case "flip-a-payload-byte": bytes[^10] ^= 0xFF; break;
            default: bytes = "not a token file"u8.ToArray(); break;
        }
        File.WriteAllBytes(good.Path, bytes);

        var messages = new List<string>();
        var rebuilt = TokenShardCache.LoadOrBuild(folder.Path, "brown", Documents, Tokenizer, messages.Add);
        Assert.Contains("rebuilding", Assert.Single(messages));
        Assert.Equal(good.Tokens, rebuilt.Tokens);
        Assert.Equal(File.ReadAllBytes(good.Path).Length, new FileInfo(rebuilt.Path).Length);
    }

    [Fact]
    public void Changing_the_corpus_or_the_tokenizer_changes_the_cache_file()
    {
        var other = BpeTrainer.Train(Documents, 300);
        string key = TokenShardCache.Key(Documents, Tokenizer);
        Assert.NotEqual(key, TokenShardCache.Key(Documents, other));
        Assert.NotEqual(key, TokenShardCache.Key(Documents.Skip(1).ToList(), Tokenizer));
    }
}
