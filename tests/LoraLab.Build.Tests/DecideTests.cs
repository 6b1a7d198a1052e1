using LoraLab.Build;

namespace LoraLab.Build.Tests;

/// <summary>GlibcxxCompatibility.Decide: which of the library's libstdc++ needs to weaken, and which block it.</summary>
public sealed class DecideTests
{
    private static readonly Lazy<ElfVersionNeeds> library = new(() => ElfVersionNeeds.Read(TestPaths.CachedLibrary));
    private static ElfVersionNeeds Library => library.Value;

    /// <summary>Every version the library needs from libstdc++, less some: a system's definitions, made to order.</summary>
    private static List<string> NeededVersionsExcept(params string[] missing) =>
        Library.needs.Where(n => n.library == "libstdc++.so.6").Select(n => n.version).Except(missing).ToList();

    [FactNeeding(Needs.Library | Needs.OldLibstdcxx)]
    public void OnThisSystemPlansToWeakenTheOneNeedOfTheAnchor()
    {
        var plan = GlibcxxCompatibility.Decide(Library, ElfVersionNeeds.Read(TestPaths.SystemLibstdcxx!).definitions);

        var need = Assert.Single(plan.weaken);
        Assert.Equal((TestPaths.MissingVersion, "libstdc++.so.6"), (need.version, need.library));
        Assert.Empty(plan.blocking);
    }

    [FactNeeding(Needs.Library)]
    public void WhereTheSystemDefinesTheVersionPlansNothing()
    {
        var plan = GlibcxxCompatibility.Decide(Library, NeededVersionsExcept());

        Assert.Empty(plan.weaken);
        Assert.Empty(plan.blocking);
    }

    [FactNeeding(Needs.Library)]
    public void AMissingVersionThatARealSymbolNeedsBlocksAndNothingIsWeakened()
    {
        var need = Library.needs.Single(n => n.version == "GLIBCXX_3.4.26");
        var symbols = Library.SymbolsNeeding(need);
        Assert.DoesNotContain(TestPaths.Anchor, symbols);

        // Missing along with GLIBCXX_3.4.32 (a GCC 8 system, say), and missing alone.
        foreach (var definitions in new[] { NeededVersionsExcept("GLIBCXX_3.4.26", TestPaths.MissingVersion), NeededVersionsExcept("GLIBCXX_3.4.26") })
        {
            var plan = GlibcxxCompatibility.Decide(Library, definitions);

            string blocking = Assert.Single(plan.blocking);
            Assert.StartsWith("GLIBCXX_3.4.26 (for ", blocking);
            Assert.Contains(symbols, s => blocking.Contains(s));
            Assert.Empty(plan.weaken);
        }
    }

    [FactNeeding(Needs.Library)]
    public void OnlyLibstdcxxNeedsAreConsidered()
    {
        // A system without any libstdc++ versions: every libstdc++ need is missing, the glibc ones are none of its business.
        var plan = GlibcxxCompatibility.Decide(Library, Array.Empty<string>());

        Assert.NotEmpty(plan.blocking);
        Assert.All(plan.blocking, b => Assert.Matches(@"^(GLIBCXX|CXXABI)_", b));
        Assert.DoesNotContain(plan.blocking, b => b.StartsWith(TestPaths.MissingVersion + " ", StringComparison.Ordinal));
    }
}
