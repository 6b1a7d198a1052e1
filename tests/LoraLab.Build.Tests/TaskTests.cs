using System.Collections;
using LoraLab.Build;
using Microsoft.Build.Framework;

namespace LoraLab.Build.Tests;

/// <summary>The MSBuild task as a build runs it (Execute), with an engine that records what it logs.</summary>
public sealed class TaskTests
{
    private sealed class RecordingEngine : IBuildEngine
    {
        public List<BuildMessageEventArgs> Messages { get; } = new();
        public List<BuildWarningEventArgs> Warnings { get; } = new();
        public List<BuildErrorEventArgs> Errors { get; } = new();
        public List<BuildEventArgs> All => [.. Messages, .. Warnings, .. Errors];

        public void LogMessageEvent(BuildMessageEventArgs e) => Messages.Add(e);
        public void LogWarningEvent(BuildWarningEventArgs e) => Warnings.Add(e);
        public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Add(e);
        public void LogCustomEvent(CustomBuildEventArgs e) { }
        public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) => throw new NotSupportedException();
        public bool ContinueOnError => false;
        public int LineNumberOfTaskNode => 0;
        public int ColumnNumberOfTaskNode => 0;
        public string ProjectFileOfTaskNode => "test.proj";
    }

    private static (bool succeeded, RecordingEngine engine) Execute(string library)
    {
        var engine = new RecordingEngine();
        bool succeeded = new WeakenGlibcxxNeeds { BuildEngine = engine, Library = library }.Execute();
        return (succeeded, engine);
    }

    private static bool IsWeak(string path) => ElfVersionNeeds.Read(path).needs.Single(n => n.version == TestPaths.MissingVersion).weak;

    [FactNeeding(Needs.Library | Needs.OldLibstdcxx)]
    public void PatchesTheCopyAndSaysWhatItDid()
    {
        using var temp = new TempFolder();
        string path = temp.CopyOfLibrary();

        var (succeeded, engine) = Execute(path);

        Assert.True(succeeded);
        Assert.True(IsWeak(path));
        var message = Assert.Single(engine.All);
        Assert.Equal(MessageImportance.High, Assert.IsType<BuildMessageEventArgs>(message).Importance);
        Assert.Contains(TestPaths.MissingVersion, message.Message);
        Assert.Contains(TestPaths.Anchor, message.Message);
        Assert.Contains(path, message.Message);
    }

    [FactNeeding(Needs.Library | Needs.NewLibstdcxx)]
    public void WhereTheSystemHasTheVersionLeavesTheCopyAloneAndSaysNothing()
    {
        using var temp = new TempFolder();
        string path = temp.CopyOfLibrary();
        byte[] original = File.ReadAllBytes(path);

        var (succeeded, engine) = Execute(path);

        Assert.True(succeeded);
        Assert.Equal(original, File.ReadAllBytes(path));
        Assert.Empty(engine.All);
    }

    [FactNeeding(Needs.Library)]
    public void AnAlreadyPatchedCopyIsLeftAloneAndNothingIsSaid()
    {
        using var temp = new TempFolder();
        string path = temp.CopyOfLibrary();
        var library = ElfVersionNeeds.Read(path);
        library.MarkWeak(library.needs.Where(n => n.version == TestPaths.MissingVersion));
        library.Save(path);
        byte[] patched = File.ReadAllBytes(path);
        long inode = Tools.Inode(path);

        var (succeeded, engine) = Execute(path);

        Assert.True(succeeded);
        Assert.Empty(engine.All);
        Assert.Equal(patched, File.ReadAllBytes(path));
        Assert.Equal(inode, Tools.Inode(path));   // not even rewritten with the same bytes
    }

    [Fact]
    public void AMissingFileIsNothingToDo()
    {
        using var temp = new TempFolder();
        string path = Path.Combine(temp.Path, "libLibTorchSharp.so");

        var (succeeded, engine) = Execute(path);

        Assert.True(succeeded);
        Assert.Empty(engine.All);
        Assert.False(File.Exists(path));
    }

    [FactNeeding(Needs.Linux)]
    public void AFileThatIsNotALibraryIsAWarningNotAFailedBuild()
    {
        using var temp = new TempFolder();
        string path = Path.Combine(temp.Path, "libLibTorchSharp.so");
        File.WriteAllText(path, "not a library");

        var (succeeded, engine) = Execute(path);

        Assert.True(succeeded);
        var warning = Assert.Single(engine.All);
        Assert.IsType<BuildWarningEventArgs>(warning);
        Assert.Contains(path, warning.Message);
        Assert.Equal("not a library", File.ReadAllText(path));
    }
}
