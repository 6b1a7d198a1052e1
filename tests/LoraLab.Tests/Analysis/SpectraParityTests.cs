using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LoraLab.Analysis;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;

namespace LoraLab.Tests.Analysis;

/// <summary>The prox step and rank90 against an independent reference: PyTorch's own SVD in Debian's /usr/bin/python3.</summary>
public class SpectraParityTests
{
    // Reads a matrix and a threshold as JSON, prints U diag(max(s − t, 0)) Vᵀ and rank90 computed with torch.
    private const string Reference = """
        import json, sys, torch
        data = json.loads(sys.argv[1])
        x = torch.tensor(data["x"], dtype=torch.float64)
        u, s, vh = torch.linalg.svd(x, full_matrices=False)
        prox = u @ torch.diag(torch.clamp(s - data["t"], min=0)) @ vh
        share = torch.cumsum(s ** 2, 0) / torch.sum(s ** 2)
        rank90 = int(torch.nonzero(share >= 0.9)[0][0]) + 1
        print(json.dumps({"prox": prox.tolist(), "rank90": rank90}))
        """;

    [LlamaTests.PythonTorchFact]
    public void Prox_and_rank90_match_PyTorch()
    {
        torch.manual_seed(21);
        using var x = torch.randn(new long[] { 9, 6 }, ScalarType.Float64);
        const double t = 0.7;
        var rows = Enumerable.Range(0, 9).Select(i => Enumerable.Range(0, 6).Select(j => x[i, j].ToDouble()).ToArray()).ToArray();
        string input = JsonSerializer.Serialize(new { x = rows, t });
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Reference);
        info.ArgumentList.Add(input);
        using var process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"the Python reference failed: {errors}");

        using var reference = JsonDocument.Parse(output);
        using var prox = NuclearNorm.Prox(x, t);
        var expected = reference.RootElement.GetProperty("prox");
        for (int i = 0; i < 9; i++)
            for (int j = 0; j < 6; j++)
                Assert.Equal(expected[i][j].GetDouble(), prox[i, j].ToDouble(), 10);
        Assert.Equal(reference.RootElement.GetProperty("rank90").GetInt32(), Spectra.Rank90(x));
    }
}
