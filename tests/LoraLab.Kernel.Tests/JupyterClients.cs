using System.Diagnostics;
using System.Text;

namespace LoraLab.Kernel.Tests;

/// <summary>
/// Runs Python Jupyter clients (Debian's jupyter_client, jupyter_kernel_test, nbconvert) against this build of the
/// kernel. The kernelspec is installed into a private prefix that only these clients see (JUPYTER_PATH), so the tests
/// neither need nor touch the user's own `./lab kernel install`.
/// </summary>
public sealed class JupyterClients : IDisposable
{
    const string Python = "/usr/bin/python3";
    readonly string prefix = Directory.CreateTempSubdirectory("loralab-kernel-tests-").FullName;

    public JupyterClients()
    {
        RequireModules("jupyter_client", "jupyter_kernel_test", "nbconvert", "nbclient");
        var install = Run("dotnet", [KernelDll, "install", "--prefix", prefix], RepositoryRoot, TimeSpan.FromMinutes(1));
        Assert.True(install.ExitCode == 0, $"installing the kernelspec failed:\n{install.Output}");
    }

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The kernel as `./lab build` built it (the configuration this test assembly was built in).</summary>
    public static string KernelDll
    {
        get
        {
            var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // bin/<Configuration>/net10.0/
            var dll = Path.Combine(RepositoryRoot, "lib", "LoraLab.Kernel", "bin", configuration, "net10.0", "loralab-kernel.dll");
            Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first (./lab build).");
            return dll;
        }
    }

    /// <summary>Runs `loralab-kernel uninstall` for this prefix; returns its output.</summary>
    public string Uninstall()
    {
        var result = Run("dotnet", [KernelDll, "uninstall", "--prefix", prefix], RepositoryRoot, TimeSpan.FromMinutes(1));
        Assert.True(result.ExitCode == 0, $"uninstalling the kernelspec failed:\n{result.Output}");
        return result.Output;
    }

    public static string PythonScript(string name) => Path.Combine(AppContext.BaseDirectory, "python", name);

    /// <summary>Runs python3 with the kernelspec visible; fails the test with the client's whole output when it fails.</summary>
    public string RunPython(string[] arguments, string workingDirectory, TimeSpan timeout) =>
        RunPythonSucceeding(arguments, workingDirectory, timeout).Output;

    /// <summary>Like <see cref="RunPython"/>, but returns standard output alone: for a client that prints JSON there,
    /// while jupyter_client may log warnings to standard error (say, that no python3 kernel is installed).</summary>
    public string RunPythonForStandardOutput(string[] arguments, string workingDirectory, TimeSpan timeout) =>
        RunPythonSucceeding(arguments, workingDirectory, timeout).StandardOutput;

    (int ExitCode, string Output, string StandardOutput) RunPythonSucceeding(string[] arguments, string workingDirectory, TimeSpan timeout)
    {
        var result = Run(Python, arguments, workingDirectory, timeout);
        Assert.True(result.ExitCode == 0, $"python3 {string.Join(' ', arguments)} exited with {result.ExitCode}:\n{result.Output}");
        return result;
    }

    (int ExitCode, string Output, string StandardOutput) Run(string program, string[] arguments, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["JUPYTER_PATH"] = Path.Combine(prefix, "share", "jupyter");
        start.Environment["JUPYTER_DATA_DIR"] = Path.Combine(prefix, "data"); // no user kernelspec can shadow ours
        start.Environment["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"; // a debugger warning nbconvert's Python prints otherwise
        using var process = Process.Start(start)!;
        var output = new StringBuilder(); // both streams, interleaved as they arrived: what a failure message shows
        var standardOutput = new StringBuilder();
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) lock (output) { output.AppendLine(line.Data); standardOutput.AppendLine(line.Data); } };
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) lock (output) output.AppendLine(line.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output) return (-1, $"timed out after {timeout.TotalSeconds} s\n{output}", standardOutput.ToString());
        }
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString(), standardOutput.ToString());
    }

    // A missing client is a failure that says how to install it, not a skipped test.
    static void RequireModules(params string[] modules)
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: run ./lab test, which installs Debian's Python Jupyter packages.");
        var probe = new ProcessStartInfo(Python) { RedirectStandardError = true, RedirectStandardOutput = true };
        probe.ArgumentList.Add("-c");
        probe.ArgumentList.Add(string.Join("; ", modules.Select(module => $"import {module}")));
        using var process = Process.Start(probe)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0,
            $"a Python Jupyter client is missing ({error.Trim().Split('\n').Last()}): run ./lab test, or apt-get install " +
            "jupyter-client python3-jupyter-kernel-test jupyter-nbconvert python3-nbclient");
    }

    static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "LoraLab.slnx"))) return directory.FullName;
        throw new InvalidOperationException($"no LoraLab.slnx above {AppContext.BaseDirectory}");
    }

    public void Dispose() => Directory.Delete(prefix, recursive: true);
}

/// <summary>One kernelspec install for all client tests, which run one after another: each starts kernels, and on a
/// 2-core CI machine kernels started in parallel would push jupyter_kernel_test past its 15-second reply timeout.</summary>
[CollectionDefinition(Name)]
public sealed class JupyterClientsCollection : ICollectionFixture<JupyterClients>
{
    public const string Name = "Jupyter clients";
}
