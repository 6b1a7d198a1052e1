using LoraLab.Build;

namespace LoraLab.Build.Tests;

/// <summary>MarkWeak and Save on copies of the real library: what changes in the file, and what must not.</summary>
public sealed class PatchTests
{
    /// <summary>Reads the library at `path`, weakens its GLIBCXX_3.4.32 need (decided against a system without that
    /// version, whatever this one has) and saves it over `path`; returns the need as it was read.</summary>
    private static ElfVersionNeeds.Need Patch(string path)
    {
        var library = ElfVersionNeeds.Read(path);
        var definitions = library.needs.Select(n => n.version).Where(v => v != TestPaths.MissingVersion).ToList();
        var plan = GlibcxxCompatibility.Decide(library, definitions);
        library.MarkWeak(plan.weaken);
        library.Save(path);
        return Assert.Single(plan.weaken);
    }

    [FactNeeding(Needs.Library | Needs.Readelf)]
    public void ReadelfSeesTheNeedWeakAndNothingElseChanged()
    {
        using var temp = new TempFolder();
        string path = temp.CopyOfLibrary();
        var before = Readelf.Needs(path);

        var patched = Patch(path);

        var after = Readelf.Needs(path);
        Assert.Equal("WEAK", after.Single(n => n.Version == TestPaths.MissingVersion).Flags);
        Assert.Equal(before.Where(n => n.Version != TestPaths.MissingVersion), after.Where(n => n.Version != TestPaths.MissingVersion));
        // The field written is the one readelf places: vna_flags, 4 bytes into the entry readelf lists.
        Assert.Equal(after.Single(n => n.Version == TestPaths.MissingVersion).FileOffset + 4, patched.flagsOffset);
    }

    [FactNeeding(Needs.Library)]
    public void OnlyTheTwoBytesOfThatFlagsFieldChange()
    {
        using var temp = new TempFolder();
        string path = temp.CopyOfLibrary();
        byte[] original = File.ReadAllBytes(path);

        var patched = Patch(path);

        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(original.Length, bytes.Length);
        var changed = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != original[i]).ToList();
        Assert.NotEmpty(changed);
        Assert.All(changed, i => Assert.InRange(i, patched.flagsOffset, patched.flagsOffset + 1));
        Assert.Equal(patched.flags | ElfVersionNeeds.VER_FLG_WEAK, BitConverter.ToUInt16(bytes, (int)patched.flagsOffset));
    }

    [FactNeeding(Needs.Library)]
    public void SaveKeepsTheModeAndTheModificationTime()
    {
        using var temp = new TempFolder();
        string path = temp.CopyOfLibrary();
        // Not what a new file gets (0644 under the usual umask), and not the cache's 0744 either.
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;
        File.SetUnixFileMode(path, mode);
        var time = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, time);

        Patch(path);

        Assert.Equal(mode, File.GetUnixFileMode(path));
        // MSBuild's incremental copy compares size and time with the package's file: the same time keeps a patched
        // output up to date, so it is not copied and patched again on every build.
        Assert.Equal(time, File.GetLastWriteTimeUtc(path));
    }

    [FactNeeding(Needs.Library)]
    public void APatchedLibraryReadsWeakAndIsNotPatchedAgain()
    {
        using var temp = new TempFolder();
        string path = temp.CopyOfLibrary();
        Patch(path);

        var library = ElfVersionNeeds.Read(path);

        Assert.True(library.needs.Single(n => n.version == TestPaths.MissingVersion).weak);
        Assert.Equal(1, library.needs.Count(n => n.weak));
        var definitions = library.needs.Select(n => n.version).Where(v => v != TestPaths.MissingVersion).ToList();
        var plan = GlibcxxCompatibility.Decide(library, definitions);
        Assert.Empty(plan.weaken);
        Assert.Empty(plan.blocking);
    }

    [FactNeeding(Needs.Library)]
    public void SaveReplacesAHardLinkInsteadOfWritingThroughIt()
    {
        using var temp = new TempFolder();
        string cache = temp.CopyOfLibrary("cache/libLibTorchSharp.so");   // this test's own NuGet cache
        string output = Path.Combine(temp.Path, "bin", "libLibTorchSharp.so");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        Tools.HardLink(cache, output);
        Assert.Equal(Tools.Inode(cache), Tools.Inode(output));
        byte[] original = File.ReadAllBytes(cache);

        Patch(output);

        Assert.Equal(original, File.ReadAllBytes(cache));
        Assert.False(ElfVersionNeeds.Read(cache).needs.Single(n => n.version == TestPaths.MissingVersion).weak);
        Assert.True(ElfVersionNeeds.Read(output).needs.Single(n => n.version == TestPaths.MissingVersion).weak);
        Assert.NotEqual(Tools.Inode(cache), Tools.Inode(output));
        Assert.Equal(["libLibTorchSharp.so"], Directory.GetFiles(Path.GetDirectoryName(output)!).Select(Path.GetFileName));   // no temporary left
    }
}
