using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace LoraLab.Notebooks.Engine;

/// <summary>
/// The help an interactive front end asks of the session between cells: completions, a symbol's documentation, and
/// whether typed code is a whole submission. All of it compiles the code as the next cell of this session (without
/// running it), so it sees every variable, type and #r reference of the cells run so far.
/// </summary>
public sealed partial class CSharpKernel
{
    /// <summary>How cells are parsed: as script code (top-level statements, a trailing expression, #r directives).</summary>
    public static CSharpParseOptions ParseOptions { get; } =
        CSharpParseOptions.Default.WithKind(SourceCodeKind.Script).WithLanguageVersion(LanguageVersion.Latest);

    /// <summary>Receives outputs while a cell runs (the Jupyter kernel); null to only collect them into the CellResult.</summary>
    public ICellOutputObserver? Observer { get; set; }

    /// <summary>Names that could complete the word ending at <paramref name="cursor"/>, and the span they replace.</summary>
    public CompletionResult Complete(string code, int cursor) =>
        CodeCompletion.Complete(CompileAsNextCell(code), ClampCursor(code, cursor));

    /// <summary>The signature and documentation summary of the symbol at <paramref name="cursor"/>, or null if none.</summary>
    public string? Inspect(string code, int cursor) =>
        SymbolInspection.Describe(CompileAsNextCell(code), ClampCursor(code, cursor));

    /// <summary>Whether <paramref name="code"/> is a whole submission (Jupyter's is_complete): see <see cref="SubmissionStatus"/>.</summary>
    public static SubmissionStatus IsComplete(string code)
    {
        var tree = SyntaxFactory.ParseSyntaxTree(code, ParseOptions);
        if (!SyntaxFactory.IsCompleteSubmission(tree)) return SubmissionStatus.Incomplete;
        return tree.GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error) ? SubmissionStatus.Invalid : SubmissionStatus.Complete;
    }

    // Reading `state` from another thread than the running cell's is safe: ScriptState is immutable and the field is
    // replaced whole, so this sees either the state before the running cell or after it.
    Compilation CompileAsNextCell(string code)
    {
        var script = state is { } current
            ? current.Script.ContinueWith(code, options)
            : CSharpScript.Create(code, options, typeof(KernelGlobals));
        return script.GetCompilation();
    }

    static int ClampCursor(string code, int cursor) => Math.Clamp(cursor, 0, code.Length);
}

/// <summary>Jupyter's is_complete answers: run it, wait for more lines, or run it to show its syntax error.</summary>
public enum SubmissionStatus { Complete, Incomplete, Invalid }
