using System.Text;

namespace LoraLab.Kernel.Protocol;

/// <summary>
/// Jupyter counts cursor positions in Unicode code points (protocol 5.2+); C# strings index UTF-16 code units.
/// They differ after any character outside the Basic Multilingual Plane (an emoji in a comment).
/// </summary>
public static class CodePoints
{
    public static int ToUtf16Index(string text, int codePoints)
    {
        var index = 0;
        for (var seen = 0; seen < codePoints && index < text.Length; seen++)
            index += char.IsSurrogatePair(text, index) ? 2 : 1;
        return index;
    }

    public static int FromUtf16Index(string text, int index)
    {
        var count = 0;
        for (var i = 0; i < Math.Min(index, text.Length); i += char.IsSurrogatePair(text, i) ? 2 : 1) count++;
        return count;
    }
}
