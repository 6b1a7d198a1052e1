using System.Globalization;
using System.Text.RegularExpressions;

namespace LoraLab.Data;

/// <summary>
/// Strict exact-match scoring of a generated answer to a <see cref="MathProblem"/>, as GSM8K is scored: the final
/// answer is the integer on the first "#### " line, written the way the generator writes it. Unlike the lenient
/// <see cref="MathWordProblems.ExtractAnswer"/>, anything malformed scores as no answer rather than being read
/// generously: no marker, no number, "#### 12.5", "#### 12 apples", "#### 1,23" (a broken thousands group).
/// </summary>
public static partial class MathAnswerParser
{
    // After "####": an optional sign, digits (plain, or grouped by commas in threes), then only spaces up to the line's end.
    [GeneratedRegex(@"^####[ \t]*(-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+))[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex FinalAnswerLine();

    [GeneratedRegex(@"^####", RegexOptions.Multiline)]
    private static partial Regex MarkerAtLineStart();

    /// <summary>The final answer of a completion, or null when its first "####" line does not hold exactly one integer.</summary>
    public static long? Parse(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var marker = MarkerAtLineStart().Match(completion);
        if (!marker.Success) return null;
        // Only the first marker line counts: a model that writes several answers does not get to pick.
        var line = FinalAnswerLine().Match(completion, marker.Index);
        if (!line.Success || line.Index != marker.Index) return null;
        return long.TryParse(line.Groups[1].Value.Replace(",", ""), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value : null;
    }

    /// <summary>True when the completion's final answer parses and equals the problem's answer.</summary>
    public static bool IsExactMatch(string completion, long answer) => Parse(completion) == answer;
}
