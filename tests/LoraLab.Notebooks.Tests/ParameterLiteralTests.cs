using LoraLab.Notebooks.Documents;

namespace LoraLab.Notebooks.Tests;

/// <summary>--param values become literals of the declared type; nothing else gets in.</summary>
public class ParameterLiteralTests
{
    static string TypeOf(string parametersCell, string name) => ParameterInjection.DeclaredTypes(parametersCell)[name];

    [Theory]
    [InlineData("var r = 8;", "r", "int")]
    [InlineData("var lr = -1e-3;", "lr", "double")]
    [InlineData("var big = 5L;", "big", "long")]
    [InlineData("var f = 0.5f;", "f", "float")]
    [InlineData("int[] widths = [64, 128];", "widths", "int[]")]
    [InlineData("var seeds = new[] { 0, 1, 2 };", "seeds", "int[]")]
    [InlineData("var rates = new[] { 1, 2.5 };", "rates", "double[]")]
    [InlineData("var rates = new double[] { 1e-3 };", "rates", "double[]")]
    [InlineData("var rates = new double[0];", "rates", "double[]")]
    [InlineData("var steps = new long[0];", "steps", "long[]")]
    [InlineData("var modules = new List<string> { \"q_proj\" };", "modules", "List<string>")]
    [InlineData("IReadOnlyList<double> xs = [1.0];", "xs", "IReadOnlyList<double>")]
    public void The_declared_type_is_read_from_the_parameters_cell(string cell, string name, string type) =>
        Assert.Equal(type, TypeOf(cell, name));

    [Fact]
    public void Every_knob_of_every_workbook_notebook_can_be_set_from_the_command_line()
    {
        var notebooks = Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "notebooks"), "*.ipynb");
        Assert.NotEmpty(notebooks);
        foreach (var path in notebooks)
        {
            var notebook = NotebookDocument.Load(path);
            // Every parameters cell (the recipe's knobs, and the profile's sizes as knobs); none in the tour.
            foreach (var parameters in notebook.Cells.Where(cell => cell.HasTag("parameters")))
            foreach (var (name, type) in ParameterInjection.DeclaredTypes(parameters.Source))
                Assert.True(ParameterInjection.CanSet(type), $"{Path.GetFileName(path)}: --param {name} cannot be set (declared as {type})");
        }
    }

    [Theory]
    [InlineData("r", "4", "int", "int r = 4;")]
    [InlineData("steps", "-3", "long", "long steps = -3L;")]
    [InlineData("lr", "2e-4", "double", "double lr = 0.0002;")]
    [InlineData("lr", "3", "double", "double lr = 3.0;")]
    [InlineData("f", "0.5", "float", "float f = 0.5f;")]
    [InlineData("fast", "True", "bool", "bool fast = true;")]
    [InlineData("name", "a\"b", "string", "string name = \"a\\\"b\";")]
    [InlineData("name", "x", "System.String", "System.String name = \"x\";")]
    [InlineData("seeds", "0,1, 2", "int[]", "int[] seeds = new int[] { 0, 1, 2 };")]
    [InlineData("seeds", "[]", "int[]", "int[] seeds = new int[] {  };")]
    [InlineData("rates", "[1e-3, 0.01]", "double[]", "double[] rates = new double[] { 0.001, 0.01 };")]
    [InlineData("mods", "[\"q,k\", \"v\"]", "List<string>", "List<string> mods = new System.Collections.Generic.List<string> { \"q,k\", \"v\" };")]
    [InlineData("mods", "q_proj,v_proj", "IReadOnlyList<string>", "IReadOnlyList<string> mods = new System.Collections.Generic.List<string> { \"q_proj\", \"v_proj\" };")]
    public void Values_become_literals_of_the_declared_type(string name, string value, string type, string expected) =>
        Assert.Equal(expected, ParameterInjection.Declaration(name, value, type));

    [Theory]
    [InlineData("steps", "1.5", "int")]
    [InlineData("steps", "3; File.Delete(\"x\")", "int")]
    [InlineData("lr", "NaN", "double")]
    [InlineData("fast", "yes", "bool")]
    [InlineData("seeds", "1,two", "int[]")]
    [InlineData("seeds", "[1, [2]]", "int[]")]
    [InlineData("seeds", "[1, 2", "int[]")]
    [InlineData("wait", "TimeSpan.Zero", "TimeSpan")]
    [InlineData("init", "LoraInit.PiSSA", "LoraInit")]
    [InlineData("xs", "1,2", "Dictionary<string, int>")]
    [InlineData("x", "1", "the type of `Compute()`")]
    public void Values_that_do_not_fit_and_types_without_literals_are_refused(string name, string value, string type)
    {
        var error = Assert.Throws<ParameterException>(() => ParameterInjection.Declaration(name, value, type));
        Assert.Contains($"--param {name}", error.Message);
    }

    [Fact]
    public void A_var_with_a_computed_default_cannot_be_set() =>
        Assert.Throws<ParameterException>(() => ParameterInjection.Declaration("x", "1", TypeOf("var x = Compute();", "x")));
}
