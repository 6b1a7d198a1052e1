using System.Collections;

namespace LoraLab.Analysis;

/// <summary>What this run's numbers say of a paper's claim.</summary>
public enum Verdict { Agrees, Differs, Inconclusive }

/// <summary>
/// One row of a notebook's "what we found": where it was measured (a task, a domain; "" when the notebook has one),
/// the paper's claim, this run's measurement with its uncertainty, and the verdict ("agrees", "differs", or
/// "inconclusive (why)"). <see cref="Decision"/> is the verdict as a value, for code that summarises findings.
/// </summary>
public sealed record Finding(string scope, string claim, string measured, string verdict)
{
    internal Verdict decision { private get; init; }

    /// <summary>The verdict as a value (the table shows it as text, with its reason).</summary>
    public Verdict Decision() => decision;
}

/// <summary>
/// A notebook's "what we found", one rule for every claim (display it: it is a table). Every interval is the 95% one
/// of an <see cref="Estimate"/> (seed t-intervals, paired differences, bootstrap):
/// <list type="bullet">
/// <item><see cref="Sign"/>: the paper says an effect is positive (or negative). Agrees when the interval lies on the
/// paper's side of zero, differs when it lies on the other side, inconclusive when it contains zero.</item>
/// <item><see cref="Value"/>: the paper gives a value (an exponent of −1/2) against an alternative (−1, or 0 for "no
/// effect"). Agrees when the interval holds the value and excludes the alternative, inconclusive when it holds both,
/// differs when it excludes the value.</item>
/// <item><see cref="AllOf"/>: one claim measured several times (at every rank): agrees when every part agrees,
/// differs when any part differs, else inconclusive.</item>
/// <item><see cref="Rule"/>: a claim judged by a stated criterion on a measurement without an interval (a count, a
/// threshold); the criterion goes into the row.</item>
/// </list>
/// Any of them is inconclusive, with the reason in the row, when the estimate has fewer than two values, no interval or
/// an interval of zero width (a value read off a grid, the same for every seed), or when the caller gives a caveat (an optimum on its grid's edge, a censored edge): a verdict is never read off a
/// number the method cannot support. An interval that holds the boundary says what it lacks: the number of values
/// (seeds) at which one of its kind, with the same mean and spread, would exclude it (<see cref="Estimate.ValuesToExclude"/>).
/// A claim is stated as the paper states it; "differs" with a tight interval is a decided result.
/// </summary>
public sealed class Findings : IReadOnlyList<Finding>
{
    private readonly List<Finding> rows = new();

    public int Count => rows.Count;
    public Finding this[int index] => rows[index];
    public IEnumerator<Finding> GetEnumerator() => rows.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The paper says <paramref name="effect"/> is positive (<paramref name="paperSign"/> +1) or negative (−1).</summary>
    public Finding Sign(string claim, Estimate effect, int paperSign, string measured, string caveat = "", string scope = "") =>
        Add(scope, claim, measured, JudgeSign(effect, paperSign, caveat));

    /// <summary>The paper says the estimate is <paramref name="paper"/>, where the alternative it rules out is
    /// <paramref name="alternative"/> (named by <paramref name="alternativeName"/>).</summary>
    public Finding Value(string claim, Estimate estimate, double paper, double alternative, string alternativeName, string measured,
                         string caveat = "", string scope = "")
    {
        if (paper == alternative) throw new ArgumentException("the paper's value and the alternative must differ", nameof(alternative));
        var (decision, reason) = Unsupported(estimate, caveat) is { } why ? (Verdict.Inconclusive, why)
            : (Holds(estimate, paper), Holds(estimate, alternative)) switch
            {
                (true, false) => (Verdict.Agrees, ""),
                (true, true) => (Verdict.Inconclusive, $"the interval holds both {paper:G3} and {alternative:G3}, {alternativeName}" +
                                 Needed(estimate, Math.Abs(estimate.Mean - paper) > Math.Abs(estimate.Mean - alternative) ? paper : alternative, "decide it")),
                (false, true) => (Verdict.Differs, $"the interval excludes {paper:G3} and holds {alternative:G3}, {alternativeName}"),
                _ => (Verdict.Differs, $"the interval excludes both {paper:G3} and {alternative:G3}, {alternativeName}"),
            };
        return Add(scope, claim, measured, (decision, reason));
    }

    /// <summary>One claim measured in several parts, each a signed effect: agrees when all agree, differs when any
    /// differs, else inconclusive (naming the parts that are not decided).</summary>
    public Finding AllOf(string claim, IReadOnlyList<(string part, Estimate effect)> parts, int paperSign, string measured, string scope = "")
    {
        if (parts.Count == 0) return Add(scope, claim, measured, (Verdict.Inconclusive, "no runs"));
        var judged = parts.Select(p => (p.part, p.effect, verdict: JudgeSign(p.effect, paperSign, "").decision)).ToList();
        var differing = judged.Where(j => j.verdict == Verdict.Differs).Select(j => j.part).ToList();
        var open = judged.Where(j => j.verdict == Verdict.Inconclusive)
                         .Select(j => j.effect.ValuesToExclude(0) is { } n ? $"{j.part} (n ≥ {n} would resolve it)" : j.part).ToList();
        return Add(scope, claim, measured,
            differing.Count > 0 ? (Verdict.Differs, $"differs at {string.Join(", ", differing)}")
            : open.Count > 0 ? (Verdict.Inconclusive, $"not resolved at {string.Join(", ", open)}")
            : (Verdict.Agrees, ""));
    }

    /// <summary>A claim judged by a stated criterion: <paramref name="holds"/> true agrees, false differs, null is
    /// inconclusive; the criterion is shown with the verdict.</summary>
    public Finding Rule(string claim, string measured, bool? holds, string criterion, string scope = "") =>
        Add(scope, claim, measured, holds switch
        {
            true => (Verdict.Agrees, criterion),
            false => (Verdict.Differs, criterion),
            null => (Verdict.Inconclusive, criterion),
        });

    /// <summary>A claim this run cannot judge, with the reason (the store lacks its runs, the model has no middle layer).</summary>
    public Finding Undecided(string claim, string reason, string measured = "", string scope = "") =>
        Add(scope, claim, measured, (Verdict.Inconclusive, reason));

    /// <summary>How many findings have each verdict, for a one-line summary.</summary>
    public string Summary() =>
        $"{rows.Count} claim{(rows.Count == 1 ? "" : "s")}: {Counted(Verdict.Agrees)} agree, {Counted(Verdict.Differs)} differ, {Counted(Verdict.Inconclusive)} inconclusive";

    private int Counted(Verdict v) => rows.Count(r => r.Decision() == v);

    private static (Verdict decision, string reason) JudgeSign(Estimate effect, int paperSign, string caveat)
    {
        if (paperSign is not (1 or -1)) throw new ArgumentOutOfRangeException(nameof(paperSign), paperSign, "the paper's sign is +1 or -1");
        if (Unsupported(effect, caveat) is { } why) return (Verdict.Inconclusive, why);
        if (!effect.ExcludesZero) return (Verdict.Inconclusive, "the interval contains 0" + Needed(effect, 0, "exclude it"));
        return (Math.Sign(effect.Mean) == paperSign ? Verdict.Agrees : Verdict.Differs, "");
    }

    // A zero-width interval from two or more values is no certainty: every seed (or resample) gave the same value of
    // a quantity read off a grid (a learning rate, an edge), so the grid, not the data, set the interval.
    private static string? Unsupported(Estimate e, string caveat) =>
        caveat != "" ? caveat
        : e.N < 2 || double.IsNaN(e.Low) || double.IsNaN(e.High) ? (e.N < 2 ? $"{e.N} value{(e.N == 1 ? "" : "s")}: no interval" : "no interval")
        : e.High == e.Low ? "the interval has zero width: every seed gave the same grid value, too coarse a grid to resolve it"
        : null;

    private static bool Holds(Estimate e, double value) => e.Low <= value && value <= e.High;

    // What an open verdict lacks, measured: "; n ≥ 23 would exclude it at this mean and spread" (Estimate.ValuesToExclude);
    // nothing when the estimate cannot say (no standard error, a mean exactly on the value, beyond the projection's limit).
    private static string Needed(Estimate e, double value, string what) =>
        e.ValuesToExclude(value) is { } n ? $"; n ≥ {n} would {what} at this mean and spread" : "";

    private Finding Add(string scope, string claim, string measured, (Verdict decision, string reason) judged)
    {
        string text = judged.decision.ToString().ToLowerInvariant() + (judged.reason == "" ? "" : $" ({judged.reason})");
        var row = new Finding(scope, claim, measured, text) { decision = judged.decision };
        rows.Add(row);
        return row;
    }
}
