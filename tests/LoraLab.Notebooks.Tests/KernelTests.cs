using LoraLab.Notebooks.Engine;

namespace LoraLab.Notebooks.Tests;

public class KernelTests
{
    readonly CSharpKernel kernel = new(Path.GetTempPath());

    static string Plain(CellOutput output) => ((DisplayOutput)output).Data[ValueFormatter.PlainText];

    [Fact]
    public async Task State_flows_from_one_cell_to_the_next()
    {
        await kernel.ExecuteCellAsync("var x = 20;");
        await kernel.ExecuteCellAsync("int Twice(int v) => 2 * v;");
        var result = await kernel.ExecuteCellAsync("Twice(x) + 2");

        Assert.True(result.Succeeded);
        Assert.Equal(3, result.ExecutionCount);
        var value = Assert.IsType<DisplayOutput>(Assert.Single(result.Outputs));
        Assert.True(value.IsResult);
        Assert.Equal("42", value.Data[ValueFormatter.PlainText]);
    }

    [Fact]
    public async Task Only_a_trailing_expression_without_semicolon_is_a_result()
    {
        Assert.Empty((await kernel.ExecuteCellAsync("var y = 1;")).Outputs);
        Assert.Empty((await kernel.ExecuteCellAsync("1 + 1;")).Outputs.OfType<DisplayOutput>());
        Assert.Empty((await kernel.ExecuteCellAsync("Console.Write(\"\")")).Outputs); // void
        Assert.Equal("<null>", Plain(Assert.Single((await kernel.ExecuteCellAsync("(string?)null")).Outputs)));
    }

    [Fact]
    public async Task Console_output_and_displays_are_captured_in_order()
    {
        var result = await kernel.ExecuteCellAsync("""
            Console.WriteLine("before");
            display(HTML("<b>bold</b>"));
            Console.Write("after");
            Console.Error.WriteLine("warn");
            """);

        Assert.Collection(result.Outputs,
            o => Assert.Equal(new StreamOutput("stdout", "before\n"), o),
            o => Assert.Equal("<b>bold</b>", ((DisplayOutput)o).Data[ValueFormatter.Html]),
            o => Assert.Equal(new StreamOutput("stdout", "after"), o),
            o => Assert.Equal(new StreamOutput("stderr", "warn\n"), o));
    }

    [Fact]
    public async Task Exceptions_report_type_message_and_stack_and_the_session_survives()
    {
        await kernel.ExecuteCellAsync("var kept = 7;");
        var failed = await kernel.ExecuteCellAsync("""
            void Fail() => throw new InvalidOperationException("boom");
            Fail();
            """);

        Assert.False(failed.Succeeded);
        Assert.Equal("System.InvalidOperationException", failed.Error!.Name);
        Assert.Equal("boom", failed.Error.Message);
        Assert.Contains(failed.Error.Traceback, line => line.Contains("Fail"));
        Assert.Equal("7", Plain(Assert.Single((await kernel.ExecuteCellAsync("kept")).Outputs)));
    }

    [Fact]
    public async Task A_failed_type_initializer_is_reported_by_its_cause()
    {
        // What a library whose native part cannot load looks like from a cell: the cause, not "The type initializer threw".
        var failed = await kernel.ExecuteCellAsync("""
            class Native { public static readonly int Handle = Load(); static int Load() => throw new DllNotFoundException("libfoo.so: version `GLIBCXX_9' not found"); }
            Native.Handle
            """);

        Assert.False(failed.Succeeded);
        Assert.Equal("System.DllNotFoundException", failed.Error!.Name);
        Assert.Contains("GLIBCXX_9", failed.Error.Message);
    }

    [Fact]
    public async Task Compile_errors_are_errors_with_the_diagnostic()
    {
        var result = await kernel.ExecuteCellAsync("int z = \"not a number\";");

        Assert.Equal("CompilationError", result.Error!.Name);
        Assert.Contains("CS0029", result.Error.Message);
    }

    [Fact]
    public async Task Objects_with_ToHtml_display_as_html_and_text()
    {
        var result = await kernel.ExecuteCellAsync("""
            class Badge { public string ToHtml() => "<span>badge</span>"; public override string ToString() => "badge"; }
            new Badge()
            """);

        var data = ((DisplayOutput)Assert.Single(result.Outputs)).Data;
        Assert.Equal("<span>badge</span>", data[ValueFormatter.Html]);
        Assert.Equal("badge", data[ValueFormatter.PlainText]);
    }

    [Fact]
    public async Task Sequences_without_a_formatter_list_their_items()
    {
        var result = await kernel.ExecuteCellAsync("new List<int> { 1, 2, 3 }");
        Assert.Equal("[1, 2, 3]", Plain(Assert.Single(result.Outputs)));
    }

    [Fact]
    public async Task Await_works_at_the_top_level_of_a_cell()
    {
        var result = await kernel.ExecuteCellAsync("await Task.Delay(1); 5");
        Assert.Equal("5", Plain(Assert.Single(result.Outputs)));
    }

    [Fact]
    public async Task Console_text_past_the_cap_is_counted_in_a_closing_note_not_kept()
    {
        var capped = new CSharpKernel(Path.GetTempPath()) { MaxStreamCharsPerCell = 10 };
        var result = await capped.ExecuteCellAsync("Console.Write(\"0123456789abcdef\"); Console.Error.Write(\"é\"); 5");

        Assert.Collection(result.Outputs,
            o => Assert.Equal(new StreamOutput("stdout", "0123456789"), o),
            o => Assert.Equal("5", Plain(o)),
            o => Assert.Equal(new StreamOutput("stderr", "\n... output truncated: 8 bytes more\n"), o)); // 6 ASCII + é in UTF-8
    }

    [Fact]
    public async Task Outputs_are_reported_as_they_are_produced()
    {
        var seen = new List<CellOutput>();
        var streaming = new CSharpKernel(Path.GetTempPath()) { OutputProduced = seen.Add };
        await streaming.ExecuteCellAsync("Console.Write(\"a\"); Console.Write(\"b\"); display(1);");

        Assert.Equal(new StreamOutput("stdout", "a"), seen[0]);
        Assert.Equal(new StreamOutput("stdout", "b"), seen[1]);
        Assert.IsType<DisplayOutput>(seen[2]);
    }
}
