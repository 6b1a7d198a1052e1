using System.Collections.Immutable;
using System.Diagnostics;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace LoraLab.Notebooks.Engine;

/// <summary>
/// Runs C# cells one after another in a single Roslyn scripting session, so variables, types and #r references of
/// earlier cells are visible to later ones (each cell continues the previous ScriptState). For each cell it captures
/// console output, display(...) calls, the value of a trailing expression, and errors.
/// Knows nothing about notebook files or reports: it takes code and returns outputs, so it can also back a Jupyter kernel.
/// </summary>
public sealed partial class CSharpKernel
{
    // Console.Out is process-wide, so cells of different kernels in one process must not run at the same time.
    static readonly SemaphoreSlim ConsoleGate = new(1, 1);

    static readonly string[] DefaultImports =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Text", "System.Threading.Tasks"];

    readonly ScriptOptions options;
    readonly KernelGlobals globals = new();
    ScriptState<object?>? state;
    int executionCount;

    /// <param name="baseDirectory">Where relative #r and #load paths resolve from: the notebook's folder.</param>
    public CSharpKernel(string baseDirectory)
    {
        baseDirectory = Path.GetFullPath(baseDirectory);
        options = ScriptOptions.Default
            .WithFilePath(Path.Combine(baseDirectory, "notebook.csx"))
            .WithMetadataResolver(ScriptMetadataResolver.Default.WithBaseDirectory(baseDirectory))
            .WithSourceResolver(new SourceFileResolver(ImmutableArray<string>.Empty, baseDirectory))
            .WithReferences(FrameworkReferences())
            .AddReferences(typeof(CellInterruption).Assembly) // the interrupt checks LoopInterruptionRewriter inserts call it
            .WithImports(DefaultImports)
            .WithEmitDebugInformation(true) // line numbers in stack traces
            .WithFileEncoding(System.Text.Encoding.UTF8); // debug information needs the source encoding
    }

    /// <summary>How many cells this session has run (Jupyter's execution_count of the last one).</summary>
    public int ExecutionCount => executionCount;

    /// <summary>
    /// Called for each output as the running cell produces it (console text in the chunks it is written in), so a front
    /// end can stream it; runs on the thread that wrote, so keep it short. The <see cref="CellResult"/> has them all too.
    /// </summary>
    public Action<CellOutput>? OutputProduced { get; set; }

    /// <summary>Console text kept per cell (about 1 MB by default); the rest is counted in a closing "output truncated" note.</summary>
    public int MaxStreamCharsPerCell { get; set; } = OutputCollector.DefaultMaxStreamChars;

    public async Task<CellResult> ExecuteCellAsync(string code, CancellationToken cancellationToken = default)
    {
        var collector = new OutputCollector(MaxStreamCharsPerCell, OutputProduced);
        var stopwatch = Stopwatch.StartNew();
        await ConsoleGate.WaitAsync(cancellationToken);
        var (savedOut, savedError) = (Console.Out, Console.Error);
        try
        {
            executionCount++;
            globals.CurrentCell = collector;
            globals.Observer = Observer;
            Console.SetOut(ObservedWriter.Wrap(collector.StandardOutput, "stdout", Observer));
            Console.SetError(ObservedWriter.Wrap(collector.StandardError, "stderr", Observer));
            using var interruption = CellInterruption.Enter(cancellationToken);
            code = LoopInterruptionRewriter.Rewrite(code, ParseOptions);
            // catchException: a runtime exception ends up in state.Exception and the session stays usable.
            state = state is null
                ? await CSharpScript.Create<object?>(code, options, typeof(KernelGlobals)).RunAsync(globals, _ => true, cancellationToken)
                : await state.ContinueWithAsync<object?>(code, options, _ => true, cancellationToken);

            LoadReferencedLibraries(state.Script);
            if (state.Exception is { } exception)
                collector.Add(ErrorFrom(exception));
            else if (EndsWithExpression(state.Script) && state.ReturnValue is not DisplayedValue)
            {
                var result = new DisplayOutput(ValueFormatter.Format(state.ReturnValue), IsResult: true);
                collector.Add(result);
                Observer?.OnDisplay(result, state.ReturnValue, displayId: null);
            }
        }
        catch (CompilationErrorException compileError)
        {
            var messages = compileError.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
            collector.Add(new ErrorOutput("CompilationError", string.Join(Environment.NewLine, messages), messages));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // E.g. an assembly named by #r failed to load: report it as the cell's error rather than crash the run.
            collector.Add(ErrorFrom(exception));
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedError);
            globals.CurrentCell = null;
            globals.Observer = null;
            ConsoleGate.Release();
        }
        return new CellResult(executionCount, collector.Outputs, stopwatch.Elapsed);
    }

    // The runtime loads a #r library only when code first uses one of its types, but ValueFormatter looks for display
    // formatters in loaded assemblies: `#r "Lib.dll"` then `rows` (a list of records) must already find Lib's table
    // formatter. So load each newly referenced library now. Failures are left to the cell's own code to surface.
    void LoadReferencedLibraries(Script script)
    {
        var loaded = AppDomain.CurrentDomain.GetAssemblies().Select(assembly => assembly.GetName().Name).ToHashSet();
        foreach (var reference in script.GetCompilation().DirectiveReferences.OfType<PortableExecutableReference>())
        {
            if (reference.FilePath is not { } path || !File.Exists(path)) continue;
            try
            {
                if (!loaded.Contains(AssemblyName.GetAssemblyName(path).Name)) Assembly.LoadFrom(path);
            }
            catch (Exception error) when (error is BadImageFormatException or FileLoadException or FileNotFoundException)
            {
                // Not a loadable .NET assembly (e.g. a reference assembly): nothing to discover in it.
            }
        }
    }

    // A cell "returns" a value only when it ends in a non-void expression without a semicolon, as in a kernel.
    // (ReturnValue alone cannot tell "no expression" from "an expression whose value is null".)
    static bool EndsWithExpression(Script script)
    {
        var compilation = script.GetCompilation();
        var tree = compilation.SyntaxTrees.Last();
        var last = tree.GetCompilationUnitRoot().Members.LastOrDefault();
        if (last is not GlobalStatementSyntax { Statement: ExpressionStatementSyntax { SemicolonToken.IsMissing: true } statement })
            return false;
        var type = compilation.GetSemanticModel(tree).GetTypeInfo(statement.Expression).Type;
        return type is null || type.SpecialType != SpecialType.System_Void;
    }

    static ErrorOutput ErrorFrom(Exception exception)
    {
        // Wrappers that say only where an exception passed, not what went wrong: show the cause. A type initializer that
        // failed (a library whose native part cannot load, say) otherwise reads "The type initializer for ... threw".
        while (exception is TargetInvocationException or TypeInitializationException && exception.InnerException is { } inner)
            exception = inner;
        // Frames below the submission are Roslyn's scripting machinery: noise to a notebook reader.
        var frames = (exception.StackTrace ?? "").Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .TakeWhile(frame => !frame.Contains("Microsoft.CodeAnalysis.Scripting", StringComparison.Ordinal))
            .ToList();
        var traceback = new List<string> { $"{exception.GetType().FullName}: {exception.Message}" };
        traceback.AddRange(frames);
        return new ErrorOutput(exception.GetType().FullName ?? exception.GetType().Name, exception.Message, traceback);
    }

    // Cells see the whole shared framework (System.*), as in dotnet-interactive, not just Roslyn's minimal default set.
    // Only the runtime's own folder is used, never the host's application assemblies, so that a notebook's
    // #r "...LoraLab.dll" decides which copy of a library it compiles against.
    static IEnumerable<MetadataReference> FrameworkReferences()
    {
        var runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return Directory.EnumerateFiles(runtimeDirectory, "*.dll")
            .Where(path => Path.GetFileName(path) is var name &&
                (name.StartsWith("System.", StringComparison.Ordinal) || name is "netstandard.dll" or "mscorlib.dll" or "Microsoft.CSharp.dll"))
            .Where(IsManagedAssembly)
            .Select(path => MetadataReference.CreateFromFile(path));
    }

    static bool IsManagedAssembly(string path)
    {
        try { AssemblyName.GetAssemblyName(path); return true; }
        catch (BadImageFormatException) { return false; }
    }
}
