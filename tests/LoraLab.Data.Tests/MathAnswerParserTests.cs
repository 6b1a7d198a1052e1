namespace LoraLab.Data.Tests;

public class MathAnswerParserTests
{
    [Fact]
    public void Parser_extracts_the_answer_from_every_generated_completion()
    {
        foreach (var problem in MathWordProblems.Generate(500, seed: 11))
        {
            Assert.Equal(problem.Answer, MathAnswerParser.Parse(problem.Completion));
            Assert.True(MathAnswerParser.IsExactMatch(problem.Completion, problem.Answer));
            Assert.False(MathAnswerParser.IsExactMatch(problem.Completion, problem.Answer + 1));
        }
    }

    [Theory]
    [InlineData(" 3 * 4 = 12.\n#### 12", 12L)]
    [InlineData("#### -7", -7L)]
    [InlineData("steps\n####1,234  \nmore text", 1234L)]
    [InlineData("steps\n#### 5\n#### 6", 5L)]                // the first answer line counts
    [InlineData("#### 0012", 12L)]
    public void Parser_reads_a_well_formed_answer_line(string completion, long expected) =>
        Assert.Equal(expected, MathAnswerParser.Parse(completion));

    [Theory]
    [InlineData("First 3 * 4 = 12. The answer is 12")]          // no marker
    [InlineData("#### ")]                                       // no number
    [InlineData("#### twelve")]
    [InlineData("#### 12.5")]                                   // not an integer
    [InlineData("#### 12 apples")]                              // text after the number
    [InlineData("#### 1,23")]                                   // a broken thousands group
    [InlineData("#### 12,")]
    [InlineData("#### --12")]
    [InlineData("the total ####12")]                           // the marker must start a line
    [InlineData("#### 99999999999999999999")]                  // does not fit a long
    [InlineData("steps\n#### x\n#### 6")]                      // the first answer line is malformed
    public void Parser_rejects_malformed_text(string completion) =>
        Assert.Null(MathAnswerParser.Parse(completion));
}
