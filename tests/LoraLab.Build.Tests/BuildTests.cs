using LoraLab.Build;

namespace LoraLab.Build.Tests;

/// <summary>The step in real builds (build/TorchSharpNative.targets, imported by Directory.Build.targets): the output's
/// copy is patched where this system needs it, the NuGet cache never is, and a build with nothing new is quiet.</summary>
public sealed class BuildTests
{
    private static bool IsWeak(string path) => ElfVersionNeeds.Read(path).needs.Single(n => n.version == TestPaths.MissingVersion).weak;

    /// <summary>A copy of the library that a build made, as this system needs it: patched and apart from the cache (a
    /// file of its own, keeping the cache's time), or, where the system has the version (or lacks more than it),
    /// untouched (where the build hard-linked it, still the cache's file).</summary>
    private static void AssertAsThisSystemNeeds(string copy, bool hardLinked)
    {
        Assert.False(IsWeak(TestPaths.CachedLibrary), "the NuGet cache's library was patched");
        if (TestPaths.SystemNeedsThePatch)
        {
            Assert.True(IsWeak(copy), $"{copy} was not patched");
            Assert.NotEqual(Tools.Inode(TestPaths.CachedLibrary), Tools.Inode(copy));
            Assert.Equal(File.GetLastWriteTimeUtc(TestPaths.CachedLibrary), File.GetLastWriteTimeUtc(copy));
        }
        else
        {
            Assert.False(IsWeak(copy), $"{copy} was patched on a system where that does not help");
            if (hardLinked) Assert.Equal(Tools.Inode(TestPaths.CachedLibrary), Tools.Inode(copy));
        }
    }

    /// <summary>The lines of a build's output in which the step speaks, checked against what this system needs said.</summary>
    private static void AssertSaidAsThisSystemNeeds(ProcessResult build)
    {
        var said = build.Output.Split('\n').Where(line => line.Contains("LoraLab: ")).ToList();
        if (TestPaths.SystemNeedsThePatch) Assert.Contains(TestPaths.MissingVersion, Assert.Single(said));
        else if (TestPaths.SystemDefinesTheVersion) Assert.Empty(said);
        else Assert.All(said, line => Assert.Contains("will not load here", line));   // older still: a warning, no patch
    }

    private const string Project = """
        <Project Sdk="Microsoft.NET.Sdk">
          <!-- A project with TorchSharp's library in its output, built with the repository's Directory.Build.props and .targets. -->
          <PropertyGroup>
            <CopyLocalLockFileAssemblies>true</CopyLocalLockFileAssemblies>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="TorchSharp" Version="$(TorchSharpVersion)" />
          </ItemGroup>
        </Project>
        """;

    /// <summary>Writes the project into the folder: in a temporary folder, outside the repository, so it is built with
    /// the repository's Directory.Build files named explicitly (Dotnet), and its bin/ and obj/ go with the folder.</summary>
    private static string WriteProject(TempFolder temp)
    {
        string project = Path.Combine(temp.Path, "Fixture", "Fixture.csproj");
        Directory.CreateDirectory(Path.GetDirectoryName(project)!);
        File.WriteAllText(project, Project);
        return project;
    }

    private static ProcessResult Dotnet(string command, string project, params string[] arguments)
    {
        string root = TestPaths.RepositoryRoot;
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        // No build servers: they would outlive the build holding its output pipes open, and this test waiting on them.
        var result = Tools.Run(dotnet, [command, project, "-c", "Release", "--nologo", "--disable-build-servers",
                                        $"-p:DirectoryBuildPropsPath={Path.Combine(root, "Directory.Build.props")}",
                                        $"-p:DirectoryBuildTargetsPath={Path.Combine(root, "Directory.Build.targets")}", .. arguments],
                               workingDirectory: Path.GetDirectoryName(project), timeout: TimeSpan.FromMinutes(5));
        Assert.True(result.ExitCode == 0, $"dotnet {command} {project}: {result}");
        return result;
    }

    [FactNeeding(Needs.Library)]
    public void ABuildPatchesItsOwnCopyOnceAndLeavesTheCache()
    {
        using var temp = new TempFolder();
        string project = WriteProject(temp);
        string output = Path.Combine(temp.Path, "Fixture", "bin", "Release", "net10.0");
        string library = Path.Combine(output, "libLibTorchSharp.so");

        var first = Dotnet("build", project);

        // Copy-local files are hard links into the NuGet cache where both are on one device (Directory.Build.props):
        // TorchSharp.dll shows it, and so that what was to be kept apart from the cache really was linked to it.
        bool hardLinked = Tools.Device(temp.Path) == Tools.Device(TestPaths.CachedLibrary);
        if (hardLinked)
            Assert.Contains(Tools.Inode(Path.Combine(output, "TorchSharp.dll")),
                            Directory.GetFiles(TestPaths.TorchSharpPackage, "TorchSharp.dll", SearchOption.AllDirectories).Select(Tools.Inode));
        AssertAsThisSystemNeeds(library, hardLinked);
        AssertSaidAsThisSystemNeeds(first);
        long inode = Tools.Inode(library);

        var second = Dotnet("build", project);

        // Nothing new: the patched copy is neither copied again nor patched again, and the build says nothing about it.
        Assert.DoesNotContain("LoraLab: ", second.Output);
        Assert.Equal(inode, Tools.Inode(library));
        AssertAsThisSystemNeeds(library, hardLinked);
    }

    [FactNeeding(Needs.Library)]
    public void APublishPatchesThePublishedCopy()
    {
        // A publish copies the library from the NuGet cache, not from the build output: its copy needs the step too.
        using var temp = new TempFolder();
        string project = WriteProject(temp);
        string published = Path.Combine(temp.Path, "published");

        var publish = Dotnet("publish", project, "-o", published);

        string library = Path.Combine(published, "libLibTorchSharp.so");
        AssertAsThisSystemNeeds(library, hardLinked: false);
        if (TestPaths.SystemNeedsThePatch)
            Assert.Contains(publish.Output.Split('\n'), line => line.Contains("LoraLab: ") && line.Contains(library));
    }

    [FactNeeding(Needs.Library | Needs.LoraLabOutput)]
    public void LoraLabsOutputIsAsThisSystemNeeds()
    {
        string output = Path.Combine(TestPaths.LoraLabOutput, "libLibTorchSharp.so");

        AssertAsThisSystemNeeds(output, hardLinked: Tools.Device(output) == Tools.Device(TestPaths.CachedLibrary));
    }
}
