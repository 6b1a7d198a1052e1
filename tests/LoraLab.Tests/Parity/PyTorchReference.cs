using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LoraLab.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests.Parity;

/// <summary>
/// PyTorch as an independent reference: Debian's /usr/bin/python3 with torch 1.13 (LoraLab runs on libtorch 2.10 through
/// TorchSharp), running tests/python/parity_reference.py. One Python process serves all parity tests: a test writes its
/// tensors with LoraLab's Safetensors.Save, sends one JSON line naming an operation, and reads the answer back (tensors
/// from a safetensors file the script writes with its own writer, and JSON). Started at the first call.
/// </summary>
public sealed class PyTorchReference : IDisposable
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> skipReason = new(FindSkipReason);

    /// <summary>Why the parity tests cannot run here (no /usr/bin/python3, or no torch and numpy in it), or null.</summary>
    public static string? SkipReason => skipReason.Value;

    private readonly object gate = new();
    private readonly StringBuilder errors = new();
    private readonly string folder = TestSupport.TempDir("pytorch-parity");
    private Process? process;
    private int calls;

    /// <summary>The torch version the reference runs (known once it has started).</summary>
    public string? TorchVersion { get; private set; }

    public sealed class Answer(Dictionary<string, Tensor> tensors, JsonElement json) : IDisposable
    {
        public Dictionary<string, Tensor> tensors { get; } = tensors;
        public JsonElement json { get; } = json;
        public Tensor this[string name] => tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"the Python reference returned no tensor '{name}' (it returned: {string.Join(", ", tensors.Keys)})");
        public void Dispose() { foreach (var t in tensors.Values) t.Dispose(); }
    }

    /// <summary>Runs the reference's operation <paramref name="op"/> on <paramref name="inputs"/> with <paramref name="args"/>
    /// (serialized as JSON with the property names as written).</summary>
    public Answer Call(string op, IReadOnlyDictionary<string, Tensor>? inputs = null, object? args = null)
    {
        lock (gate)
        {
            var p = Start();
            int n = ++calls;
            string? input = null;
            if (inputs is { Count: > 0 })
            {
                input = Path.Combine(folder, $"{n:D3}-{op}-in.safetensors");
                Safetensors.Save(input, inputs);
            }
            string output = Path.Combine(folder, $"{n:D3}-{op}-out.safetensors");
            p.StandardInput.WriteLine(JsonSerializer.Serialize(new { op, input, output, args }));
            p.StandardInput.Flush();
            string line = ReadLine(p, $"operation '{op}'");
            using var reply = JsonDocument.Parse(line);
            if (!reply.RootElement.GetProperty("ok").GetBoolean())
                throw new InvalidOperationException($"the Python reference failed on '{op}':\n{reply.RootElement.GetProperty("error").GetString()}");
            var json = reply.RootElement.GetProperty("json").Clone();
            var tensors = File.Exists(output) ? Safetensors.Load(output) : new Dictionary<string, Tensor>();
            return new Answer(tensors, json);
        }
    }

    private Process Start()
    {
        if (process is { HasExited: false }) return process;
        if (process is not null) throw new InvalidOperationException($"the Python reference has exited ({process.ExitCode}):\n{Errors()}");
        if (SkipReason is { } why) throw new InvalidOperationException(why);
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8, UseShellExecute = false,
        };
        info.ArgumentList.Add(Script("parity_reference.py"));
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";          // no __pycache__ in tests/python
        info.Environment["OMP_NUM_THREADS"] = "1";
        process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {Python}");
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        using var ready = JsonDocument.Parse(ReadLine(process, "start-up"));
        TorchVersion = ready.RootElement.GetProperty("ready").GetString();
        return process;
    }

    private string ReadLine(Process p, string what)
    {
        var read = p.StandardOutput.ReadLineAsync();
        if (!read.Wait(TimeSpan.FromMinutes(3)))
        {
            p.Kill();
            throw new TimeoutException($"the Python reference gave no answer to {what} in 3 minutes:\n{Errors()}");
        }
        return read.Result ?? throw new InvalidOperationException($"the Python reference ended during {what}:\n{Errors()}");
    }

    private string Errors() { lock (errors) return errors.ToString(); }

    /// <summary>A file of tests/python, found from the test assembly's folder upward.</summary>
    public static string Script(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tests", "python", name))) dir = dir.Parent;
        return dir is null ? throw new FileNotFoundException($"tests/python/{name}") : Path.Combine(dir.FullName, "tests", "python", name);
    }

    private static string? FindSkipReason()
    {
        if (!File.Exists(Python)) return $"{Python} is missing: the PyTorch parity tests are skipped";
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("import torch, numpy; print(torch.__version__)");
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? null : $"{Python} cannot import torch and numpy: the PyTorch parity tests are skipped ({(stdout.Result + stderr).Trim()})";
    }

    public void Dispose()
    {
        if (process is null) return;
        try
        {
            if (!process.HasExited)
            {
                process.StandardInput.Close();                 // the script ends at the end of its input
                if (!process.WaitForExit(10_000)) process.Kill();
            }
        }
        catch (InvalidOperationException) { }
        process.Dispose();
    }
}

/// <summary>All parity tests share one Python reference process.</summary>
[CollectionDefinition(Name)]
public sealed class PyTorchParityCollection : ICollectionFixture<PyTorchReference>
{
    public const string Name = "PyTorch parity";
}

/// <summary>A Fact skipped, with the reason shown, where /usr/bin/python3 or its torch is missing.</summary>
public sealed class PyTorchFactAttribute : FactAttribute
{
    public PyTorchFactAttribute() { if (PyTorchReference.SkipReason is { } why) Skip = why; }
}

/// <summary>A Theory skipped, with the reason shown, where /usr/bin/python3 or its torch is missing.</summary>
public sealed class PyTorchTheoryAttribute : TheoryAttribute
{
    public PyTorchTheoryAttribute() { if (PyTorchReference.SkipReason is { } why) Skip = why; }
}
