using LoraLab.Build;

namespace LoraLab.Build.Tests;

/// <summary>The reader on TorchSharp's real library and this system's libstdc++, checked against readelf.</summary>
public sealed class ReadingTests
{
    [FactNeeding(Needs.Library)]
    public void TorchSharpNeedsGlibcxx3432FromLibstdcxxForTheAnchorAlone()
    {
        var library = ElfVersionNeeds.Read(TestPaths.CachedLibrary);

        var need = Assert.Single(library.needs, n => n.version == TestPaths.MissingVersion);
        Assert.Equal("libstdc++.so.6", need.library);
        Assert.False(need.weak);
        Assert.Equal([TestPaths.Anchor], library.SymbolsNeeding(need));
    }

    [FactNeeding(Needs.OldLibstdcxx)]
    public void ThisSystemsLibstdcxxStopsBeforeGlibcxx3432()
    {
        var definitions = ElfVersionNeeds.Read(TestPaths.SystemLibstdcxx!).definitions;

        Assert.Contains("GLIBCXX_3.4.30", definitions);
        Assert.DoesNotContain(TestPaths.MissingVersion, definitions);
    }

    [FactNeeding(Needs.Library | Needs.Readelf)]
    public void NeedsAgreeWithReadelf()
    {
        var mine = ElfVersionNeeds.Read(TestPaths.CachedLibrary).needs
            .Select(n => new Readelf.Need(n.library, n.version, n.weak ? "WEAK" : "none", n.index, n.flagsOffset - 4));
        var readelfs = Readelf.Needs(TestPaths.CachedLibrary);

        Assert.Contains(readelfs, n => n.Version == TestPaths.MissingVersion);   // the parse of readelf's output found something
        Assert.Equal(readelfs, mine);
    }

    [FactNeeding(Needs.Library | Needs.Readelf)]
    public void SymbolsNeedingEachVersionAgreeWithReadelf()
    {
        var library = ElfVersionNeeds.Read(TestPaths.CachedLibrary);

        foreach (var need in library.needs)
        {
            var readelfs = Readelf.UndefinedSymbolsOfVersion(TestPaths.CachedLibrary, need.index);
            Assert.NotEmpty(readelfs);   // each version is needed by some symbol: an empty list would be a failed parse
            Assert.Equal(readelfs.Order(StringComparer.Ordinal), library.SymbolsNeeding(need).Order(StringComparer.Ordinal));
        }
    }

    [FactNeeding(Needs.Python)]
    public void TheSystemLibstdcxxIsTheOneTheLoaderGivesAProgram()
    {
        // What a process that asks the dynamic loader for libstdc++.so.6 gets, as its own memory map shows.
        var result = Tools.Run(Machine.Python, ["-c", """
            import ctypes
            ctypes.CDLL("libstdc++.so.6")
            print(next(line[line.index("/"):].strip() for line in open("/proc/self/maps") if "/libstdc++.so" in line))
            """]);
        Assert.True(result.ExitCode == 0, result.ToString());

        Assert.Equal(Tools.Inode(result.Output.Trim()), Tools.Inode(TestPaths.SystemLibstdcxx!));
    }

    [FactNeeding(Needs.Readelf)]
    public void SystemDefinitionsAgreeWithReadelf()
    {
        string system = TestPaths.SystemLibstdcxx ?? throw new InvalidOperationException("no libstdc++.so.6 on this system");
        var readelfs = Readelf.Definitions(system);

        Assert.Contains("GLIBCXX_3.4", readelfs);
        Assert.Equal(readelfs, ElfVersionNeeds.Read(system).definitions);
    }
}
