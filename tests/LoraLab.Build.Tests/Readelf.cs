using System.Globalization;
using System.Text.RegularExpressions;

namespace LoraLab.Build.Tests;

/// <summary>What binutils' readelf says about a file's symbol versions: the independent account the reader is checked against.</summary>
public static partial class Readelf
{
    /// <summary>One entry of readelf -V's "Version needs section": where it is in the file, from which library, the flags.</summary>
    public sealed record Need(string Library, string Version, string Flags, int Index, long FileOffset);

    public static IReadOnlyList<Need> Needs(string path)
    {
        var result = new List<Need>();
        string? library = null;
        long sectionOffset = -1;
        bool inNeeds = false;
        foreach (var line in Tools.Readelf("-V", path).Split('\n'))
        {
            if (line.StartsWith("Version needs section", StringComparison.Ordinal)) { inNeeds = true; continue; }
            if (line.StartsWith("Version ", StringComparison.Ordinal)) { inNeeds = false; continue; }
            if (!inNeeds) continue;
            if (SectionLine().Match(line) is { Success: true } section) sectionOffset = Hex(section.Groups[1].Value);
            else if (FileLine().Match(line) is { Success: true } file) library = file.Groups[1].Value;
            else if (NameLine().Match(line) is { Success: true } name)
                // readelf gives each auxiliary entry's offset within the section; vna_flags is 4 bytes into the entry.
                result.Add(new Need(library!, name.Groups[2].Value, name.Groups[3].Value.Trim(), int.Parse(name.Groups[4].Value),
                                    sectionOffset + Hex(name.Groups[1].Value)));
        }
        return result;
    }

    /// <summary>The version names readelf -V lists in the "Version definition section", less the BASE entry (the soname).</summary>
    public static IReadOnlyList<string> Definitions(string path) =>
        Tools.Readelf("-V", path).Split('\n').Select(line => DefinitionLine().Match(line))
             .Where(m => m.Success && !m.Groups[1].Value.Contains("BASE")).Select(m => m.Groups[2].Value).ToList();

    /// <summary>The undefined dynamic symbols readelf --dyn-syms binds to the version with this index ("name@VERSION (18)").</summary>
    public static IReadOnlyList<string> UndefinedSymbolsOfVersion(string path, int index) =>
        Tools.Readelf("--dyn-syms", path).Split('\n').Select(line => UndefinedSymbolLine().Match(line))
             .Where(m => m.Success && int.Parse(m.Groups[2].Value) == index).Select(m => m.Groups[1].Value).ToList();

    private static long Hex(string text) => long.Parse(text.StartsWith("0x") ? text[2..] : text, NumberStyles.HexNumber);

    [GeneratedRegex(@"^\s*Addr: 0x[0-9a-f]+\s+Offset: (0x[0-9a-f]+)")] private static partial Regex SectionLine();
    [GeneratedRegex(@"^\s*[0-9a-fx]+: Version: \d+\s+File: (\S+)\s+Cnt: \d+")] private static partial Regex FileLine();
    [GeneratedRegex(@"^\s*([0-9a-fx]+):\s+Name: (\S+)\s+Flags: (.*?)\s+Version: (\d+)\s*$")] private static partial Regex NameLine();
    [GeneratedRegex(@"^\s*[0-9a-fx]+: Rev: \d+\s+Flags: (.*?)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)")] private static partial Regex DefinitionLine();
    [GeneratedRegex(@"^\s*\d+: [0-9a-f]+\s+\S+\s+\S+\s+\S+\s+\S+\s+UND (\S+?)@\S+ \((\d+)\)\s*$")] private static partial Regex UndefinedSymbolLine();
}
