using System.Globalization;
using System.Text.RegularExpressions;

namespace LoraLab.Data.Tests;

public class MathProblemTests
{
    private static readonly Regex Step = new(@"(\d+) ([-+*/]) (\d+) = (\d+)");

    [Fact]
    public void Every_solution_step_is_correct_arithmetic_and_ends_at_the_answer()
    {
        foreach (var problem in MathWordProblems.Generate(2000, seed: 42))
        {
            var steps = Step.Matches(problem.Solution);
            Assert.True(steps.Count >= 2, $"expected a multi-step solution: {problem.Solution}");
            foreach (Match step in steps)
            {
                long a = long.Parse(step.Groups[1].Value, CultureInfo.InvariantCulture);
                long b = long.Parse(step.Groups[3].Value, CultureInfo.InvariantCulture);
                long result = long.Parse(step.Groups[4].Value, CultureInfo.InvariantCulture);
                long expected = step.Groups[2].Value switch { "+" => a + b, "-" => a - b, "*" => a * b, _ => a / b };
                Assert.Equal(expected, result);
                if (step.Groups[2].Value == "/") Assert.Equal(0, a % b);
            }
            Assert.Equal(problem.Answer, long.Parse(steps[^1].Groups[4].Value, CultureInfo.InvariantCulture));
            Assert.True(problem.Answer >= 0);
        }
    }

    [Fact]
    public void The_extractor_finds_the_answer_of_every_generated_problem()
    {
        foreach (var problem in MathWordProblems.Generate(500, seed: 3))
        {
            Assert.StartsWith("Question: ", problem.Text);
            Assert.Equal(problem.Answer, MathWordProblems.ExtractAnswer(problem.Text));
            Assert.Equal(problem.Answer, MathWordProblems.ExtractAnswer(problem.Completion));
        }
    }

    [Theory]
    [InlineData("so the total is 12.\n#### 1,234", 1234L, false)]
    [InlineData("#### -7", -7L, false)]
    [InlineData("I think it is 5 then 9", null, false)]
    [InlineData("I think it is 5 then 9", 9L, true)]
    [InlineData("no number here", null, true)]
    public void Extractor_reads_the_number_after_the_marker(string output, long? expected, bool lenient) =>
        Assert.Equal(expected, MathWordProblems.ExtractAnswer(output, lenient));

    [Fact]
    public void Generation_is_deterministic_per_seed_and_index()
    {
        var first = MathWordProblems.Generate(50, seed: 9);
        Assert.Equal(first, MathWordProblems.Generate(50, seed: 9));
        Assert.Equal(first.Take(10), MathWordProblems.Generate(10, seed: 9));
        Assert.NotEqual(first, MathWordProblems.Generate(50, seed: 10));
    }

    [Fact]
    public void Math_splits_share_no_question()
    {
        var splits = MathWordProblems.Splits(300, 50, 50, seed: 1);
        Assert.Equal((300, 50, 50), (splits.Train.Count, splits.Validation.Count, splits.Test.Count));
        var questions = splits.Train.Concat(splits.Validation).Concat(splits.Test).Select(p => p.Question).ToList();
        Assert.Equal(questions.Count, questions.Distinct().Count());
    }
}
