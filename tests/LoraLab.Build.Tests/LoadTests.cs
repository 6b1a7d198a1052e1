using LoraLab.Build;

namespace LoraLab.Build.Tests;

/// <summary>The point of it all: the dynamic loader refuses the unpatched library on this system and accepts the patched one.</summary>
public sealed class LoadTests
{
    /// <summary>dlopen(path, RTLD_NOW) in a child process, with libtorch's libraries on the search path (next to the
    /// library in a build output they are found through its RUNPATH $ORIGIN; here they are elsewhere).</summary>
    private static ProcessResult Load(string path) =>
        Tools.Run(Machine.Python, ["-c", "import ctypes, os, sys; ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW)", path],
                  new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = TestPaths.LibtorchNative });

    [FactNeeding(Needs.Library | Needs.OldLibstdcxx | Needs.Python | Needs.Libtorch)]
    public void TheUnpatchedLibraryIsRefusedAndThePatchedOneLoads()
    {
        using var temp = new TempFolder();
        string unpatched = temp.CopyOfLibrary("unpatched/libLibTorchSharp.so");
        string patched = temp.CopyOfLibrary("patched/libLibTorchSharp.so");
        var library = ElfVersionNeeds.Read(patched);
        var plan = GlibcxxCompatibility.Decide(library, ElfVersionNeeds.Read(TestPaths.SystemLibstdcxx!).definitions);
        library.MarkWeak(plan.weaken);
        library.Save(patched);

        var refused = Load(unpatched);
        Assert.True(refused.ExitCode != 0, $"the unpatched library loaded: {refused}");
        Assert.Contains($"version `{TestPaths.MissingVersion}' not found", refused.Error);

        var loaded = Load(patched);
        Assert.True(loaded.ExitCode == 0, $"the patched library did not load: {loaded}");
    }
}
