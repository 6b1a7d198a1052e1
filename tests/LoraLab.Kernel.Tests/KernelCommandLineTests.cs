using System.Diagnostics;

namespace LoraLab.Kernel.Tests;

/// <summary>
/// loralab-kernel's own command line: anything it does not take is refused by name with exit 2 (and the usage),
/// before it installs, removes or starts anything. No Jupyter client is needed.
/// </summary>
public sealed class KernelCommandLineTests : IDisposable
{
    private readonly List<string> _folders = [];

    public void Dispose()
    {
        foreach (var folder in _folders)
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    private sealed record Result(int Code, string Output, string Error)
    {
        public override string ToString() => $"exit {Code}\n--- stdout\n{Output}\n--- stderr\n{Error}";
    }

    private static Result Kernel(string dataDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(JupyterClients.KernelDll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["JUPYTER_DATA_DIR"] = dataDirectory; // a per-user install that slipped through lands here
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"loralab-kernel {string.Join(' ', args)} did not end (it should have refused its arguments)");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, output.Result, error.Result);
    }

    string NewFolder()
    {
        var folder = Directory.CreateTempSubdirectory("loralab-kernel-cli-").FullName;
        _folders.Add(folder);
        return folder;
    }

    [Theory]
    [InlineData("install: unexpected argument 'extra'", "install", "extra")]
    [InlineData("install: unknown option '--user'", "install", "--user")]
    [InlineData("install: unknown option '--sys-prefix'", "install", "--sys-prefix")]
    [InlineData("--prefix needs a folder", "install", "--prefix")]
    [InlineData("--prefix needs a folder (got an empty one)", "install", "--prefix=")]
    [InlineData("--prefix is given twice", "install", "--prefix", "a", "--prefix", "b")]
    [InlineData("uninstall: unexpected argument 'now'", "uninstall", "now")]
    [InlineData("-f needs the connection file", "-f")]
    [InlineData("unexpected argument 'extra' after -f CONNECTION_FILE", "-f", "connection.json", "extra")]
    [InlineData("unknown command 'start'", "start")]
    [InlineData("unknown option '--connection-file'", "--connection-file", "x.json")]
    [InlineData("name a command")]
    public void A_bad_argument_exits_2_names_it_and_changes_nothing(string message, params string[] args)
    {
        var data = NewFolder();
        var result = Kernel(data, args);
        Assert.True(result.Code == 2, result.ToString());
        Assert.Contains(message, result.Error);
        Assert.Contains("usage: loralab-kernel", result.Error);
        Assert.DoesNotContain("Exception", result.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(data));
    }

    [Fact]
    public void Uninstall_with_an_extra_argument_leaves_an_installed_kernelspec_alone()
    {
        var prefix = NewFolder();
        var installed = Kernel(NewFolder(), "install", "--prefix=" + prefix);
        Assert.True(installed.Code == 0, installed.ToString());
        var spec = Path.Combine(prefix, "share", "jupyter", "kernels", "loralab-csharp", "kernel.json");
        Assert.True(File.Exists(spec), installed.ToString());

        var refused = Kernel(NewFolder(), "uninstall", "--prefix", prefix, "--force");
        Assert.True(refused.Code == 2, refused.ToString());
        Assert.Contains("unknown option '--force'", refused.Error);
        Assert.True(File.Exists(spec));

        var removed = Kernel(NewFolder(), "uninstall", "--prefix", prefix);
        Assert.True(removed.Code == 0, removed.ToString());
        Assert.False(File.Exists(spec));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_prints_the_usage_and_exits_0(string flag)
    {
        var result = Kernel(NewFolder(), flag);
        Assert.True(result.Code == 0, result.ToString());
        Assert.Contains("usage: loralab-kernel", result.Output);
    }

    [Fact]
    public void A_prefix_that_is_a_file_is_refused()
    {
        var file = Path.Combine(NewFolder(), "a-file");
        File.WriteAllText(file, "");
        var result = Kernel(NewFolder(), "install", "--prefix", file);
        Assert.True(result.Code == 2, result.ToString());
        Assert.Contains("is a file, not a folder", result.Error);
    }
}
