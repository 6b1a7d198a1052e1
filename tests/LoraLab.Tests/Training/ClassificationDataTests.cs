using LoraLab.Data;
using LoraLab.Data.Tokenization;
using LoraLab.Training;

namespace LoraLab.Tests.Training;

/// <summary>The GLUE-like task data on the committed fixture corpora.</summary>
public class ClassificationDataTests
{
    // The fixture's 12 Brown samples cut into 20-word passages and split 40/30/30 by document: the task's own
    // 80/10/10 split leaves no fixture document for validation or test.
    internal static (ClassificationData data, BpeTokenizer tokenizer) BrownFixture(int maxLength = 24, int maxTrain = 40, int maxEval = 20)
    {
        var brown = ClassificationTask.BrownGenre(TrainingFixtures.Corpora(), coarse: true, passageWords: 20);
        var all = brown.Splits.Train.Concat(brown.Splits.Validation).Concat(brown.Splits.Test).ToList();
        var task = brown with { Splits = DatasetSplit.ByGroup(all, e => e.DocumentId, e => brown.LabelNames[e.Label], 0, validationFraction: 0.3, testFraction: 0.3) };
        var tokenizer = BpeTrainer.Train(task.Splits.Train.Select(e => e.Text).Take(50).ToList(), 300);
        return (ClassificationData.Encode(task, tokenizer, maxLength, maxTrain, maxEval), tokenizer);
    }

    [Fact]
    public void Subsets_keep_every_label_cut_to_the_maximum_length_and_chance_is_the_majority_share()
    {
        var split = new EncodedSplit([[1], [2], [3], [4]], [0, 1, 1, 1]);
        Assert.Equal(0.75, ClassificationData.MajorityAccuracy(split));

        var (data, _) = BrownFixture();
        Assert.InRange(data.Train.Count, 1, 40);
        Assert.InRange(data.Test.Count, 1, 20);
        Assert.Equal(data.NumLabels, data.Train.Labels.Distinct().Count());
        Assert.All(data.Train.Ids, ids => Assert.InRange(ids.Length, 1, 24));
    }

    [Fact]
    public void A_batch_is_right_padded_with_the_pad_token_and_keeps_the_labels()
    {
        var (data, tokenizer) = BrownFixture();
        int[] rows = [0, 1, 2];
        var (ids, labels) = data.Batch(data.Train, rows);
        int longest = rows.Max(i => data.Train.Ids[i].Length);
        Assert.Equal(new long[] { 3, longest }, ids.shape);
        var values = ids.data<long>();
        for (int i = 0; i < rows.Length; i++)
        {
            var sequence = data.Train.Ids[rows[i]];
            for (int t = 0; t < longest; t++)
                Assert.Equal(t < sequence.Length ? sequence[t] : tokenizer.PadId, values[i * longest + t]);
        }
        Assert.Equal(rows.Select(i => (long)data.Train.Labels[i]), labels.data<long>());
    }
}
