using System.Text.RegularExpressions;

namespace LoraLab.Data.Tokenization;

/// <summary>
/// Splits text into the pieces BPE merges may not cross, like GPT-2: English contractions, words with
/// their leading space, single digits, runs of punctuation, and whitespace. Keeping merges inside pieces
/// stops the vocabulary from filling up with fragments like "g the" and makes merges reusable.
/// Digits are split one per piece (as in LLaMA, unlike GPT-2's digit runs) so numbers are spelled the
/// same way everywhere, which matters when we measure exact-match arithmetic.
/// The alternatives together match every character, so concatenating the pieces gives back the text.
/// </summary>
public sealed class PreTokenizer
{
    public const string DefaultPattern =
        @"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Regex _regex;

    public PreTokenizer(string pattern = DefaultPattern)
    {
        Pattern = pattern;
        _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
    }

    public string Pattern { get; }

    /// <summary>Calls <paramref name="onPiece"/> with each piece of <paramref name="text"/> in order, without allocating strings.</summary>
    public void ForEachPiece(ReadOnlySpan<char> text, PieceAction onPiece)
    {
        int covered = 0;
        foreach (ValueMatch match in _regex.EnumerateMatches(text))
        {
            // Should never happen with the default pattern, but a custom pattern might skip characters;
            // passing the gap on as its own piece keeps encoding lossless regardless.
            if (match.Index > covered)
                onPiece(text[covered..match.Index]);
            onPiece(text.Slice(match.Index, match.Length));
            covered = match.Index + match.Length;
        }
        if (covered < text.Length)
            onPiece(text[covered..]);
    }

    /// <summary>The pieces as strings (convenient for tests and inspection, slower than <see cref="ForEachPiece"/>).</summary>
    public List<string> Split(string text)
    {
        var pieces = new List<string>();
        ForEachPiece(text, piece => pieces.Add(piece.ToString()));
        return pieces;
    }

    public delegate void PieceAction(ReadOnlySpan<char> piece);
}
