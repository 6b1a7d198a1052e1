using System.Reflection;
using System.Runtime.CompilerServices;

namespace LoraLab.Display;

/// <summary>
/// Makes figures and tables display as HTML inside real dotnet-interactive (VS Code Polyglot Notebooks).
/// dotnet-interactive formats values through Microsoft.DotNet.Interactive.Formatting.Formatter; we register ours with it
/// by reflection so that this library does not depend on dotnet-interactive, and do nothing where it is not loaded
/// (the headless runner, tests, plain programs).
/// </summary>
public static class InteractiveFormatters
{
    const string FormatterTypeName = "Microsoft.DotNet.Interactive.Formatting.Formatter";
    static bool registered;

    /// <summary>Runs when this assembly is first used, e.g. by a notebook that did #r on it.</summary>
#pragma warning disable CA2255 // A module initializer is the point here: registration must happen without user code.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void OnLoad() => Register();

    /// <summary>Registers the HTML formatters if dotnet-interactive is loaded; true when it was. Safe to call repeatedly.</summary>
    public static bool Register()
    {
        if (registered) return true;
        var formatter = AppDomain.CurrentDomain.GetAssemblies()
            .Select(assembly => assembly.GetType(FormatterTypeName, throwOnError: false))
            .FirstOrDefault(type => type is not null);
        if (formatter is null) return false;

        // Formatter.Register(Type type, Action<object, TextWriter> formatter, string mimeType = "text/plain", bool addToDefaults = false)
        var register = formatter.GetMethods(BindingFlags.Public | BindingFlags.Static).FirstOrDefault(method =>
            method.Name == "Register" && method.GetParameters() is { Length: >= 3 } p &&
            p[0].ParameterType == typeof(Type) && p[1].ParameterType == typeof(Action<object, TextWriter>) && p[2].ParameterType == typeof(string));
        // Formatter.SetPreferredMimeTypeFor(Type type, string preferredMimeType, ...): without it a type may still show as text.
        var preferMimeType = formatter.GetMethods(BindingFlags.Public | BindingFlags.Static).FirstOrDefault(method =>
            method.Name == "SetPreferredMimeTypeFor" && method.GetParameters() is { Length: >= 2 } p &&
            p[0].ParameterType == typeof(Type) && p[1].ParameterType == typeof(string));
        if (register is null) return false;

        foreach (var type in new[] { typeof(Figure), typeof(Table) })
        {
            Action<object, TextWriter> writeHtml = (value, writer) => writer.Write(NotebookDisplay.ToHtml(value));
            register.Invoke(null, Arguments(register, type, writeHtml, "text/html"));
            preferMimeType?.Invoke(null, Arguments(preferMimeType, type, "text/html"));
        }
        registered = true;
        return true;
    }

    // Fills the optional parameters (e.g. addToDefaults) with their defaults, whatever this dotnet-interactive version has.
    static object?[] Arguments(MethodInfo method, params object[] given) =>
        method.GetParameters().Select((parameter, i) => i < given.Length ? given[i] : parameter.DefaultValue).ToArray();
}
