using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using LoraLab.Build;

// ELF, hard links, file modes, the dynamic loader: every test here is about Linux (the others are skipped elsewhere).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace LoraLab.Build.Tests;

/// <summary>Where the tests find TorchSharp's library, libtorch, this system's libstdc++ and the repository.</summary>
public static class TestPaths
{
    private static string Metadata(string key) =>
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value ?? "";

    /// <summary>TorchSharp's package folder in the NuGet cache.</summary>
    public static string TorchSharpPackage => Metadata("TorchSharpPackage");

    /// <summary>The unpatched library in the NuGet cache, as the build copies (hard-links) it. Tests never write it.</summary>
    public static string CachedLibrary => Path.Combine(TorchSharpPackage, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>The folder of libtorch's libraries, which libLibTorchSharp.so needs to load.</summary>
    public static string LibtorchNative => Path.Combine(Metadata("LibtorchPackage"), "runtimes", "linux-x64", "native");

    /// <summary>The libstdc++ the build step checks against: found the same way the build finds it.</summary>
    public static string? SystemLibstdcxx => GlibcxxCompatibility.SystemLibstdcxx();

    /// <summary>Whether this system's libstdc++ defines GLIBCXX_3.4.32 (GCC 13 and later): TorchSharp loads as it is.</summary>
    public static bool SystemDefinesTheVersion => ElfVersionNeeds.Read(SystemLibstdcxx!).definitions.Contains(MissingVersion);

    /// <summary>Whether this system's libstdc++ lacks GLIBCXX_3.4.32 and nothing else TorchSharp's library needs from it
    /// (GCC 12: Debian 12): the system the step is for. An older one lacks versions real symbols need, and is left alone.</summary>
    public static bool SystemNeedsThePatch
    {
        get
        {
            var definitions = ElfVersionNeeds.Read(SystemLibstdcxx!).definitions;
            var missing = ElfVersionNeeds.Read(CachedLibrary).needs.Where(n => n.library == "libstdc++.so.6" && !definitions.Contains(n.version));
            return missing.Select(n => n.version).SequenceEqual([MissingVersion]);
        }
    }

    public const string Anchor = "_ZSt21ios_base_library_initv";
    public const string MissingVersion = "GLIBCXX_3.4.32";

    /// <summary>lib/LoraLab's Release output, as ./lab build (or dotnet build -c Release) leaves it.</summary>
    public static string LoraLabOutput => Path.Combine(RepositoryRoot, "lib", "LoraLab", "bin", "Release", "net10.0");

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "LoraLab.slnx"))) return dir.FullName;
            throw new InvalidOperationException($"no LoraLab.slnx above {AppContext.BaseDirectory}");
        }
    }
}

/// <summary>What a test needs from this machine; a test whose needs are not met is skipped, saying which.</summary>
[Flags]
public enum Needs
{
    /// <summary>Linux on x64, as every test here needs.</summary>
    Linux = 0,
    /// <summary>TorchSharp's libLibTorchSharp.so for linux-x64 in the NuGet cache (restored with this project).</summary>
    Library = 1,
    /// <summary>binutils' readelf, the independent reader the tests compare with.</summary>
    Readelf = 2,
    /// <summary>A system libstdc++ that lacks GLIBCXX_3.4.32 alone of the versions TorchSharp needs (GCC 12: Debian 12),
    /// where the step acts. Implies Library.</summary>
    OldLibstdcxx = 4,
    /// <summary>A system libstdc++ that defines GLIBCXX_3.4.32 (GCC 13 and later), where the step must do nothing.</summary>
    NewLibstdcxx = 8,
    /// <summary>/usr/bin/python3, whose ctypes loads libraries in a child process (dlopen).</summary>
    Python = 16,
    /// <summary>libtorch's libraries in the NuGet cache (restored with this project), which TorchSharp's library loads.</summary>
    Libtorch = 32,
    /// <summary>lib/LoraLab built in Release, with TorchSharp's library in its output.</summary>
    LoraLabOutput = 64,
}

public sealed class FactNeedingAttribute : FactAttribute
{
    public FactNeedingAttribute(Needs needs)
    {
        if (Machine.Lacks(needs) is { } reason) Skip = reason;
    }
}

public sealed class TheoryNeedingAttribute : TheoryAttribute
{
    public TheoryNeedingAttribute(Needs needs)
    {
        if (Machine.Lacks(needs) is { } reason) Skip = reason;
    }
}

public static class Machine
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Why this machine cannot run a test with these needs, or null where it can.</summary>
    public static string? Lacks(Needs needs)
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.OSArchitecture != Architecture.X64)
            return "needs Linux on x64: the step patches TorchSharp's linux-x64 library";
        if ((needs.HasFlag(Needs.Library) || needs.HasFlag(Needs.OldLibstdcxx)) && !File.Exists(TestPaths.CachedLibrary))
            return $"TorchSharp's library is not in the NuGet cache ({TestPaths.CachedLibrary}): restore this project";
        if (needs.HasFlag(Needs.Readelf) && Tools.Find("readelf") is null)
            return "readelf (binutils) is not installed: apt-get install binutils";
        if (needs.HasFlag(Needs.OldLibstdcxx) || needs.HasFlag(Needs.NewLibstdcxx))
        {
            if (TestPaths.SystemLibstdcxx is not { } system) return "no libstdc++.so.6 found on this system";
            bool defines = TestPaths.SystemDefinesTheVersion;
            if (needs.HasFlag(Needs.OldLibstdcxx) && defines)
                return $"this system's libstdc++ ({system}) defines {TestPaths.MissingVersion} (GCC 13 or later): TorchSharp loads unpatched and the step has nothing to do";
            if (needs.HasFlag(Needs.OldLibstdcxx) && !TestPaths.SystemNeedsThePatch)
                return $"this system's libstdc++ ({system}) is older than GCC 12's: it lacks versions that real symbols of TorchSharp's library need, so no patch makes it load";
            if (needs.HasFlag(Needs.NewLibstdcxx) && !defines)
                return $"this system's libstdc++ ({system}) lacks {TestPaths.MissingVersion} (GCC 12 or older): this test is for systems where the step must do nothing";
        }
        if (needs.HasFlag(Needs.Python) && !File.Exists(Python))
            return $"{Python} is not installed: the test loads libraries with Python's ctypes (dlopen) in a child process";
        if (needs.HasFlag(Needs.Libtorch) && !File.Exists(Path.Combine(TestPaths.LibtorchNative, "libtorch.so")))
            return $"libtorch's libraries are not in the NuGet cache ({TestPaths.LibtorchNative}): restore this project";
        if (needs.HasFlag(Needs.LoraLabOutput) && !File.Exists(Path.Combine(TestPaths.LoraLabOutput, "libLibTorchSharp.so")))
            return $"lib/LoraLab is not built ({TestPaths.LoraLabOutput} has no libLibTorchSharp.so): ./lab build, or dotnet build lib/LoraLab -c Release";
        return null;
    }
}

/// <summary>A temporary folder, deleted with what is in it.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("loralab-build-tests-").FullName;

    /// <summary>A copy of TorchSharp's library (from the NuGet cache) at `relative` in this folder.</summary>
    public string CopyOfLibrary(string relative = "libLibTorchSharp.so")
    {
        string target = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
        File.Copy(TestPaths.CachedLibrary, target);
        return target;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

public sealed record ProcessResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit code {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
}

public static class Tools
{
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => System.IO.Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    public static ProcessResult Run(string program, IEnumerable<string> arguments, IDictionary<string, string>? environment = null,
                                    string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(1)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish in time");
        }
        return new ProcessResult(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>readelf's output (wide, so that long names are not cut), failing the test if readelf fails.</summary>
    public static string Readelf(params string[] arguments)
    {
        var result = Run("readelf", ["-W", .. arguments]);
        Assert.True(result.ExitCode == 0, $"readelf {string.Join(' ', arguments)}: {result}");
        return result.Output;
    }

    /// <summary>The file's inode number (stat, through symbolic links): two paths with the same one are one file.</summary>
    public static long Inode(string path)
    {
        var result = Run("stat", ["-L", "-c", "%i", path]);
        Assert.True(result.ExitCode == 0, $"stat {path}: {result}");
        return long.Parse(result.Output.Trim());
    }

    /// <summary>The file's device number (stat): hard links exist only within one device.</summary>
    public static long Device(string path)
    {
        var result = Run("stat", ["-c", "%d", path]);
        Assert.True(result.ExitCode == 0, $"stat {path}: {result}");
        return long.Parse(result.Output.Trim());
    }

    public static void HardLink(string existing, string link)
    {
        var result = Run("ln", [existing, link]);
        Assert.True(result.ExitCode == 0, $"ln {existing} {link}: {result}");
    }
}
