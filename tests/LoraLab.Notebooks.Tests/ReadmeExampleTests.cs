using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LoraLab.Notebooks.Runner;
using static LoraLab.Notebooks.Tests.TestNotebooks;

namespace LoraLab.Notebooks.Tests;

/// <summary>
/// The README's "A LoRA run in five lines", the first code a TorchSharp user copies, run as the README prints it: its
/// using directives in one cell, its statements in a method (C# scripts do not take `using var` at the top level).
/// </summary>
public sealed class ReadmeExampleTests
{
    [Fact]
    public async Task The_READMEs_five_line_LoRA_run_compiles_and_trains()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "README.md"));
        var block = Regex.Match(readme, @"## A LoRA run in five lines\s+```csharp\n(?<code>.*?)```", RegexOptions.Singleline);
        Assert.True(block.Success, "README.md has no csharp block under '## A LoRA run in five lines'");
        var lines = block.Groups["code"].Value.Split('\n');
        bool IsDirective(string line) => line.StartsWith("using ") && !line.StartsWith("using var ");
        var bin = Path.Combine(TestPaths.RepositoryRoot, "lib", "LoraLab", "bin", "Release", "net10.0");
        var folder = TestPaths.NewOutputFolder("readme-example");
        var notebook = Write(folder, "readme", new JsonObject(),
            Code($"#r \"{bin}/TorchSharp.dll\"\n#r \"{bin}/LoraLab.dll\"\n" + string.Join("\n", lines.Where(IsDirective)) +
                 "\ntorch.manual_seed(0);\nvar ids = torch.randint(0, 256, new long[] { 4, 32 });"),
            Code("double Run()\n{\n" + string.Join("\n", lines.Where(line => !IsDirective(line))) +
                 "\nreturn model.Loss(ids).ToDouble();\n}\nConsole.WriteLine($\"loss after training {Run():R}\");"));

        var (exitCode, log) = await RunnerTests.Run(notebook, "--out", Path.Combine(folder, "out"));

        Assert.True(exitCode == ExitCodes.Ok, log);
        var loss = Regex.Match(log, @"loss after training (?<value>\S+)");
        Assert.True(loss.Success, log);
        // 100 steps on 4 × 32 random tokens: the loss falls below the uniform guess over the 256 tokens, ln 256 ≈ 5.55.
        Assert.InRange(double.Parse(loss.Groups["value"].Value, CultureInfo.InvariantCulture), 0, Math.Log(256) - 0.3);
    }
}
