// The PyTorch side of ./lab bench: reference.py as a child process, driven one JSON line at a time (its docstring has
// the protocol). One child per thread count, started with that count (torch.set_num_threads, and OMP_NUM_THREADS,
// MKL_NUM_THREADS and OPENBLAS_NUM_THREADS for a BLAS with a thread pool of its own).
using System.Diagnostics;
using System.Text.Json.Nodes;

/// <summary>reference.py could not start or answered with an error; the message says which and why.</summary>
internal sealed class PythonReferenceException(string message) : Exception(message);

internal sealed class PythonReference : IDisposable
{
    private readonly Process process;
    private readonly Task<string> stderr;

    private PythonReference(Process process, JsonObject hello, string python)
    {
        this.process = process;
        stderr = process.StandardError.ReadToEndAsync();
        Python = python;
        Torch = hello["torch"]?.GetValue<string>() ?? "?";
        PythonVersion = hello["python"]?.GetValue<string>() ?? "?";
        Threads = hello["threads"]?.GetValue<int>() ?? 0;
        Blas = hello["blas"]?.GetValue<string>() ?? "?";
    }

    public string Python { get; }
    public string Torch { get; }
    public string PythonVersion { get; }
    public int Threads { get; }
    public string Blas { get; }

    /// <summary>The interpreters tried, in order: LORALAB_PYTHON alone when it is set, else Debian's python3 (which has
    /// python3-torch), then the first python3 on PATH.</summary>
    public static IEnumerable<string> Candidates() =>
        Environment.GetEnvironmentVariable("LORALAB_PYTHON") is { Length: > 0 } p ? new[] { p } : new[] { "/usr/bin/python3", "python3" };

    /// <summary>Starts reference.py with <paramref name="threads"/> intra-op threads; throws PythonReferenceException with
    /// every candidate's reason when none starts.</summary>
    public static PythonReference Start(int threads)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "reference.py");
        var reasons = new List<string>();
        foreach (var python in Candidates())
        {
            Process? process = null;
            try
            {
                var info = new ProcessStartInfo(python)
                {
                    RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                };
                info.ArgumentList.Add(script);
                info.ArgumentList.Add("--threads");
                info.ArgumentList.Add(threads.ToString());
                foreach (var variable in new[] { "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS" })
                    info.Environment[variable] = threads.ToString();
                process = Process.Start(info)!;
                string? line = process.StandardOutput.ReadLine();
                if (line is not null && JsonNode.Parse(line) is JsonObject hello && hello["ready"] is not null)
                    return new PythonReference(process, hello, python);
                process.WaitForExit(5000);
                string error = process.StandardError.ReadToEnd().Trim().Split('\n').LastOrDefault() ?? "";
                reasons.Add($"{python}: {(error.Length > 0 ? error : "no answer")}");
                process.Dispose();
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                reasons.Add($"{python}: {e.Message}");
                process?.Dispose();
            }
        }
        throw new PythonReferenceException($"no Python with torch answered ({string.Join("; ", reasons)}); install Debian's python3-torch " +
                                           "(apt-get install python3-torch) or set LORALAB_PYTHON to a Python with torch");
    }

    /// <summary>Builds a case on the Python side; returns what it says about it (parameter counts and the like).</summary>
    public JsonObject Setup(string name, JsonObject spec) => Ask(new JsonObject { ["op"] = "setup", ["case"] = name, ["spec"] = spec })["info"] as JsonObject ?? new JsonObject();

    /// <summary>Runs a built case <paramref name="iterations"/> times; microseconds per iteration, wall clock and CPU time.</summary>
    public (double wall, double cpu) Run(string name, int iterations)
    {
        var answer = Ask(new JsonObject { ["op"] = "run", ["case"] = name, ["iterations"] = iterations });
        return (answer["wall_us"]!.GetValue<double>(), answer["cpu_us"]!.GetValue<double>());
    }

    /// <summary>Each phase's wall time per iteration, timed one by one (median over <paramref name="repeats"/>).</summary>
    public List<(string name, double wallUs)> Phases(string name, int iterations, int repeats)
    {
        var answer = Ask(new JsonObject { ["op"] = "phases", ["case"] = name, ["iterations"] = iterations, ["repeats"] = repeats });
        return answer["phases"]!.AsArray().Select(p => (p!["name"]!.GetValue<string>(), p["wall_us"]!.GetValue<double>())).ToList();
    }

    private JsonObject Ask(JsonObject command)
    {
        try
        {
            process.StandardInput.WriteLine(command.ToJsonString());
            process.StandardInput.Flush();
        }
        catch (IOException) { throw Died(); }
        string? line = process.StandardOutput.ReadLine();
        if (line is null) throw Died();
        if (JsonNode.Parse(line) is not JsonObject answer) throw new PythonReferenceException($"reference.py answered '{line}'");
        if (answer["error"] is { } error) throw new PythonReferenceException($"reference.py: {error}");
        return answer;
    }

    private PythonReferenceException Died()
    {
        process.WaitForExit(5000);
        string last = stderr.IsCompleted ? stderr.Result.Trim().Split('\n').LastOrDefault() ?? "" : "";
        return new PythonReferenceException($"reference.py stopped{(process.HasExited ? $" (exit code {process.ExitCode})" : "")}: {last}");
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.StandardInput.WriteLine(new JsonObject { ["op"] = "quit" }.ToJsonString());
                process.StandardInput.Close();
                if (!process.WaitForExit(5000)) process.Kill();
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException) { }
        process.Dispose();
    }
}
