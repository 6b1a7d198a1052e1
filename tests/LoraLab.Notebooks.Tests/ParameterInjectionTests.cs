using LoraLab.Notebooks.Documents;

namespace LoraLab.Notebooks.Tests;

public class ParameterInjectionTests
{
    [Theory]
    [InlineData("steps", "200", "var steps = 200;")]
    [InlineData("lr", "0.001", "var lr = 0.001;")]
    [InlineData("fast", "true", "var fast = true;")]
    [InlineData("profile", "ci", "var profile = \"ci\";")]
    [InlineData("path", "a \"quoted\" \\ path", "var path = \"a \\\"quoted\\\" \\\\ path\";")]
    public void Values_are_typed_number_bool_or_string(string name, string value, string expected) =>
        Assert.Equal(expected, ParameterInjection.Declaration(name, value));

    [Fact]
    public void The_parameters_cell_decides_the_type()
    {
        Assert.Equal("double lr = 1.0;", ParameterInjection.Declaration("lr", "1", "double"));
        Assert.Equal("string name = \"5\";", ParameterInjection.Declaration("name", "5", "string"));
        Assert.Throws<ParameterException>(() => ParameterInjection.Declaration("steps", "many", "int"));
    }

    [Fact]
    public void Injected_cell_follows_the_parameters_cell_and_keeps_its_types()
    {
        var notebook = NotebookDocument.Parse("""
            {"nbformat": 4, "nbformat_minor": 2, "metadata": {}, "cells": [
              {"cell_type": "markdown", "metadata": {}, "source": "# t"},
              {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [], "execution_count": null,
               "source": ["var lr = 0.01;\n", "var name = \"x\";"]},
              {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null, "source": "lr"}
            ]}
            """);

        ParameterInjection.Inject(notebook, [KeyValuePair.Create("lr", "1"), KeyValuePair.Create("name", "7")]);

        var injected = notebook.Cells[2];
        Assert.True(injected.HasTag(ParameterInjection.InjectedTag));
        Assert.Contains("double lr = 1.0;", injected.Source);
        Assert.Contains("string name = \"7\";", injected.Source);
        Assert.Null(injected.KernelName);      // run by the notebook's kernel (loralab-csharp): no Polyglot per-cell metadata
    }

    [Fact]
    public void Each_value_follows_the_parameters_cell_that_declares_it()
    {
        // The recipe's knobs first; the profile's sizes as knobs after the cell that reads the profile.
        var notebook = NotebookDocument.Parse("""
            {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
              {"cell_type": "code", "id": "knobs", "metadata": {"tags": ["parameters"]}, "outputs": [], "execution_count": null,
               "source": "var profile = \"quick\";\nvar r = 8;"},
              {"cell_type": "code", "id": "sizes", "metadata": {}, "outputs": [], "execution_count": null,
               "source": "var sizes = profile == \"ci\" ? (steps: 2, seeds: new[] { 0 }) : (steps: 80, seeds: new[] { 0, 1 });"},
              {"cell_type": "code", "id": "sized", "metadata": {"tags": ["parameters"]}, "outputs": [], "execution_count": null,
               "source": "int max_steps = sizes.steps;\nint[] seeds = sizes.seeds;"},
              {"cell_type": "code", "id": "use", "metadata": {}, "outputs": [], "execution_count": null, "source": "max_steps"}
            ]}
            """);

        var warnings = ParameterInjection.Inject(notebook,
            [KeyValuePair.Create("max_steps", "5"), KeyValuePair.Create("profile", "ci"), KeyValuePair.Create("seeds", "3,4")]);

        Assert.Empty(warnings);
        Assert.Equal(["knobs", "injected-parameters", "sizes", "sized", "injected-parameters-2", "use"],
                     notebook.Cells.Select(cell => (string)cell.Json["id"]!).ToArray());
        Assert.Equal("// Parameters injected by lab run\nstring profile = \"ci\";", notebook.Cells[1].Source);
        Assert.Equal("// Parameters injected by lab run\nint max_steps = 5;\nint[] seeds = new int[] { 3, 4 };", notebook.Cells[4].Source);

        // A second injection replaces both cells; a name no cell declares goes after the first, with a warning.
        warnings = ParameterInjection.Inject(notebook, [KeyValuePair.Create("typo", "1")]);
        Assert.Equal(5, notebook.Cells.Count);
        Assert.Contains("var typo = 1;", notebook.Cells[1].Source);
        Assert.Contains("typo", Assert.Single(warnings));
    }

    [Fact]
    public void Invalid_parameter_names_are_rejected()
    {
        Assert.Throws<ParameterException>(() => ParameterInjection.Declaration("not a name", "1"));
    }
}

public class NotebookDocumentTests
{
    [Theory]
    [InlineData("""{"nbformat": "4", "cells": []}""")]
    [InlineData("""{"nbformat": 3, "cells": []}""")]
    [InlineData("""{"nbformat": 4}""")]
    [InlineData("""{"nbformat": 4, "cells": [{"cell_type": 7}]}""")]
    [InlineData("""[1, 2]""")]
    public void Structures_that_are_not_nbformat_4_are_format_errors(string json) =>
        Assert.Throws<NotebookFormatException>(() => NotebookDocument.Parse(json));
}
