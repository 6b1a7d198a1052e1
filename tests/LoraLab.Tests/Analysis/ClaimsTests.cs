using LoraLab.Analysis;

namespace LoraLab.Tests.Analysis;

public class ClaimsTests
{
    private static Estimate Interval(double low, double high, int n = 4) => new((low + high) / 2, 1, n, low, high);

    [Fact]
    public void A_sign_claim_agrees_only_when_the_interval_lies_on_the_papers_side_of_zero()
    {
        var found = new Findings();
        Assert.Equal(Verdict.Agrees, found.Sign("A beats B", Interval(0.1, 0.5), +1, "").Decision());
        Assert.Equal(Verdict.Differs, found.Sign("A beats B", Interval(-0.5, -0.1), +1, "").Decision());
        Assert.Equal(Verdict.Inconclusive, found.Sign("A beats B", Interval(-0.1, 0.5), +1, "").Decision());
        Assert.Equal(Verdict.Agrees, found.Sign("loss falls", Interval(-0.5, -0.1), -1, "").Decision());
        Assert.Equal("inconclusive (the interval contains 0)", found[2].verdict);
        Assert.Equal("agrees", found[0].verdict);
        // An open verdict says what it lacks: the seeds at which this mean and spread would exclude 0.
        var open = found.Sign("A beats B", Statistics.Mean([3, -1, 2.5, -0.5]), +1, "");
        Assert.Equal($"inconclusive (the interval contains 0; n ≥ {Statistics.Mean([3, -1, 2.5, -0.5]).ValuesToExclude(0)} would exclude it at this mean and spread)", open.verdict);
    }

    [Fact]
    public void One_value_or_a_caveat_is_never_a_verdict_whatever_the_numbers()
    {
        var found = new Findings();
        var one = found.Sign("A beats B", new Estimate(0.4, double.NaN, 1, double.NaN, double.NaN), +1, "");
        Assert.Equal(Verdict.Inconclusive, one.Decision());
        Assert.Contains("no interval", one.verdict);
        var edge = found.Sign("A beats B", Interval(0.1, 0.5), +1, "", caveat: "the optimum is on the grid's edge");
        Assert.Equal("inconclusive (the optimum is on the grid's edge)", edge.verdict);
        Assert.Throws<ArgumentOutOfRangeException>(() => found.Sign("x", Interval(0.1, 0.5), 0, ""));
        // Every seed on the same grid point: a zero-width interval says nothing about the uncertainty.
        var quantised = found.Value("edge ∝ n^(−1/2)", new Estimate(-0.7, 0, 4, -0.7, -0.7), -0.5, -1, "Init[B]'s", "");
        Assert.Equal(Verdict.Inconclusive, quantised.Decision());
        Assert.Contains("zero width", quantised.verdict);
    }

    [Fact]
    public void A_value_claim_needs_the_interval_to_hold_the_papers_value_and_exclude_the_alternative()
    {
        var found = new Findings();
        Assert.Equal(Verdict.Agrees, found.Value("slope −1/2", Interval(-0.7, -0.4), -0.5, -1, "Init[B]'s", "").Decision());
        var both = found.Value("slope −1/2", Interval(-1.1, -0.4), -0.5, -1, "Init[B]'s", "");
        Assert.Equal(Verdict.Inconclusive, both.Decision());
        Assert.Contains("holds both", both.verdict);
        // Undecided between −1/2 and −1: the seeds that would exclude the farther of the two.
        var seeds = Statistics.Mean([-0.2, -1.2, -0.5, -0.9]);   // mean −0.7, nearer −1/2
        Assert.EndsWith($"n ≥ {seeds.ValuesToExclude(-1)} would decide it at this mean and spread)",
                        found.Value("slope −1/2", seeds, -0.5, -1, "Init[B]'s", "").verdict);
        Assert.Equal(Verdict.Differs, found.Value("slope −1/2", Interval(-1.2, -0.8), -0.5, -1, "Init[B]'s", "").Decision());
        Assert.Equal(Verdict.Differs, found.Value("slope −1/2", Interval(-0.3, -0.1), -0.5, -1, "Init[B]'s", "").Decision());
        Assert.Throws<ArgumentException>(() => found.Value("x", Interval(-1, 1), 0, 0, "same", ""));
    }

    [Fact]
    public void A_claim_of_several_parts_agrees_when_all_agree_and_differs_when_any_differs()
    {
        var found = new Findings();
        Assert.Equal(Verdict.Agrees, found.AllOf("at every rank", [("r=4", Interval(0.1, 0.2)), ("r=16", Interval(0.3, 0.4))], +1, "").Decision());
        var open = found.AllOf("at every rank", [("r=4", Interval(0.1, 0.2)), ("r=16", Interval(-0.3, 0.4))], +1, "");
        Assert.Equal("inconclusive (not resolved at r=16)", open.verdict);          // made by hand: no standard error
        var measured = found.AllOf("at every rank", [("r=4", Interval(0.1, 0.2)), ("r=16", Statistics.Mean([0.4, -0.1, 0.3, 0.0]))], +1, "");
        Assert.Matches(@"^inconclusive \(not resolved at r=16 \(n ≥ \d+ would resolve it\)\)$", measured.verdict);
        var differs = found.AllOf("at every rank", [("r=4", Interval(-0.2, -0.1)), ("r=16", Interval(-0.3, 0.4))], +1, "");
        Assert.Equal("differs (differs at r=4)", differs.verdict);
        Assert.Equal(Verdict.Inconclusive, found.AllOf("at every rank", [], +1, "").Decision());
    }

    [Fact]
    public void Findings_display_as_a_table_of_scope_claim_measured_and_verdict_and_summarise_their_verdicts()
    {
        var found = new Findings();
        found.Rule("rank90 above half of min(m, n)", "0.8 of min(m, n)", true, "criterion: rank90 > 0.5 min(m, n)", scope: "code");
        found.Undecided("first and last layers lower", "the base has 2 layers, no middle");
        Assert.Equal(new[] { "scope", "claim", "measured", "verdict" },
                     typeof(Finding).GetProperties().Where(p => p.Name != "EqualityContract").Select(p => p.Name));
        Assert.Equal("agrees (criterion: rank90 > 0.5 min(m, n))", found[0].verdict);
        Assert.Equal("2 claims: 1 agree, 0 differ, 1 inconclusive", found.Summary());
        var one = new Findings();
        one.Undecided("a lone claim", "no data");
        Assert.Equal("1 claim: 0 agree, 0 differ, 1 inconclusive", one.Summary());
    }
}
