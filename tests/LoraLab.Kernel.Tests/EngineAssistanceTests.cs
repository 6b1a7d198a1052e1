using LoraLab.Notebooks.Engine;

namespace LoraLab.Kernel.Tests;

/// <summary>The engine pieces the kernel stands on: interrupt checks, completion, inspection, is_complete, display updates.</summary>
public sealed class EngineAssistanceTests
{
    readonly CSharpKernel engine = new(Path.GetTempPath());

    [Fact]
    public void Loop_bodies_gain_an_interrupt_check_without_moving_any_line()
    {
        var code = "int n = 0;\nwhile (n < 3) n++; // count\nfor (var i = 0; i < 2; i++)\n{\n    n += i;\n}\nforeach (var c in \"ab\") { }\ndo { n--; } while (n > 0);";
        var rewritten = LoopInterruptionRewriter.Rewrite(code, CSharpKernel.ParseOptions);

        Assert.Equal(4, rewritten.Split("CellInterruption.ThrowIfRequested()").Length - 1);
        Assert.Equal(code.Split('\n').Length, rewritten.Split('\n').Length);
        Assert.Contains("// count", rewritten.Split('\n')[1]);
        var noLoop = "var x = 1;";
        Assert.Same(noLoop, LoopInterruptionRewriter.Rewrite(noLoop, CSharpKernel.ParseOptions));
    }

    [Fact]
    public async Task Cancelling_a_running_while_true_cell_stops_it_and_the_session_keeps_its_variables()
    {
        await engine.ExecuteCellAsync("long spins = 0;");
        using var interrupt = new CancellationTokenSource();
        engine.Observer = new CancelOnFirstOutput(interrupt); // interrupt once the cell is surely running
        var stopped = await engine.ExecuteCellAsync("spins = 41;\nConsole.Write(\"started\");\nwhile (true) { spins++; }", interrupt.Token).WaitAsync(TimeSpan.FromSeconds(60));
        engine.Observer = null;

        Assert.Equal(typeof(OperationCanceledException).FullName, stopped.Error?.Name);
        var next = await engine.ExecuteCellAsync("spins + 1");
        Assert.Equal("42", ((DisplayOutput)Assert.Single(next.Outputs)).Data[ValueFormatter.PlainText]);
    }

    [Fact]
    public async Task A_runtime_error_names_the_cell_line_it_happened_on()
    {
        var failed = await engine.ExecuteCellAsync("var a = 1;\nfor (var i = 0; i < 1; i++) { }\nthrow new InvalidOperationException(\"on line 3\");");
        Assert.Contains(failed.Error!.Traceback, frame => frame.Contains("line 3"));
    }

    [Fact]
    public async Task Completion_offers_members_of_an_earlier_cells_variable_and_names_in_scope()
    {
        await engine.ExecuteCellAsync("var words = new List<string>();");

        var members = engine.Complete("words.Ad", 8);
        Assert.Equal(["Add", "AddRange"], members.Matches.Where(m => m.StartsWith("Add")).ToArray());
        Assert.Equal((6, 8), (members.Start, members.End));
        Assert.Contains("words", engine.Complete("wor", 3).Matches);
        Assert.Contains("Select", engine.Complete("words.Sel", 9).Matches); // extension methods
        Assert.Contains("Generic", engine.Complete("System.Collections.Gen", 22).Matches);
    }

    [Fact]
    public void Inspection_shows_every_overload_and_the_framework_doc_summary()
    {
        var group = engine.Inspect("Math.Max", 8);
        Assert.NotNull(group);
        Assert.Contains("Math.Max(int, int)", group);
        Assert.Contains("Math.Max(double, double)", group);
        Assert.Contains("Returns the larger of two", group); // from the .NET reference pack's System.Runtime.xml

        var call = engine.Inspect("Math.Max(1, 2)", 6); // a call resolves to the overload it uses
        Assert.Contains("Math.Max(int, int)", call);
        Assert.DoesNotContain("double", call);
        Assert.Null(engine.Inspect("   ", 1));
    }

    [Theory]
    [InlineData("var x = 1;", SubmissionStatus.Complete)]
    [InlineData("for (int i = 0; i < 3; i++) {", SubmissionStatus.Incomplete)]
    [InlineData("var s = @\"first line", SubmissionStatus.Incomplete)]
    [InlineData("int x = 1 +;", SubmissionStatus.Invalid)]
    public void Is_complete_follows_roslyn_syntax(string code, SubmissionStatus expected) =>
        Assert.Equal(expected, CSharpKernel.IsComplete(code));

    [Fact]
    public async Task Updating_a_display_replaces_its_output_and_is_not_a_result_itself()
    {
        var result = await engine.ExecuteCellAsync("var progress = display(\"step 0\");\nfor (var i = 1; i <= 3; i++) progress.Update($\"step {i}\");\nprogress");

        var shown = (DisplayOutput)Assert.Single(result.Outputs);
        Assert.False(shown.IsResult);
        Assert.Equal("step 3", shown.Data[ValueFormatter.PlainText]);
    }
}

/// <summary>Cancels a cell as soon as it writes anything: proof that it is running, not still compiling.</summary>
sealed class CancelOnFirstOutput(CancellationTokenSource interrupt) : ICellOutputObserver
{
    public void OnStream(string name, string text) => interrupt.Cancel();
    public void OnDisplay(DisplayOutput output, object? value, string? displayId) { }
    public void OnUpdateDisplay(DisplayOutput output, object? value, string displayId) { }
}
