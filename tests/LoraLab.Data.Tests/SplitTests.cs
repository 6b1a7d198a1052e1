namespace LoraLab.Data.Tests;

public class SplitTests
{
    private readonly DataRoot _fixtures = TestPaths.Fixtures();

    [Fact]
    public void Brown_genre_splits_are_deterministic_and_share_no_document()
    {
        var first = ClassificationTask.BrownGenre(_fixtures, seed: 7, passageWords: 40);
        var again = ClassificationTask.BrownGenre(_fixtures, seed: 7, passageWords: 40);
        foreach (SplitName split in Enum.GetValues<SplitName>())
            Assert.Equal(first.Splits[split].Select(e => e.Text), again.Splits[split].Select(e => e.Text));

        var trainDocs = first.Splits.Train.Select(e => e.DocumentId).ToHashSet();
        var validationDocs = first.Splits.Validation.Select(e => e.DocumentId).ToHashSet();
        var testDocs = first.Splits.Test.Select(e => e.DocumentId).ToHashSet();
        Assert.Empty(trainDocs.Intersect(validationDocs));
        Assert.Empty(trainDocs.Intersect(testDocs));
        Assert.Empty(validationDocs.Intersect(testDocs));
        Assert.Equal(12, trainDocs.Count + validationDocs.Count + testDocs.Count);
        Assert.Equal(["fiction", "general", "learned", "press"], first.LabelNames);
    }

    [Fact]
    public void Splits_cover_every_item_exactly_once_and_depend_on_the_seed()
    {
        var items = Enumerable.Range(0, 1000).Select(i => (Id: $"doc{i / 4}", Label: (i / 4 % 3).ToString(), Index: i)).ToList();
        var a = DatasetSplit.ByGroup(items, x => x.Id, x => x.Label, seed: 1, validationFraction: 0.2, testFraction: 0.2);
        var b = DatasetSplit.ByGroup(items, x => x.Id, x => x.Label, seed: 2, validationFraction: 0.2, testFraction: 0.2);
        var all = a.Train.Concat(a.Validation).Concat(a.Test).Select(x => x.Index).Order();
        Assert.Equal(Enumerable.Range(0, 1000), all);
        Assert.InRange(a.Test.Count, 180, 220);
        Assert.NotEqual(a.Test.Select(x => x.Index), b.Test.Select(x => x.Index));
        // Passages of one document stay together.
        Assert.All(a.Test.GroupBy(x => x.Id), group => Assert.Equal(4, group.Count()));
    }

    [Fact]
    public void Spam_task_splits_are_disjoint_by_message()
    {
        var task = ClassificationTask.SpamVsHam(_fixtures, seed: 3);
        var ids = task.Splits.Train.Concat(task.Splits.Validation).Concat(task.Splits.Test).Select(e => e.DocumentId).ToList();
        Assert.Equal(8, ids.Count);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(["ham", "spam"], task.LabelNames);
    }
}
