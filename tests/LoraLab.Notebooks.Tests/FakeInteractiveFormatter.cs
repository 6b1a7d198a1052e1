using System.Collections.Concurrent;

// A stand-in for dotnet-interactive's formatter, with the same type name and method signatures, so that tests can check
// how LoraLab.Display registers itself without installing dotnet-interactive.
namespace Microsoft.DotNet.Interactive.Formatting;

public static class Formatter
{
    public static readonly ConcurrentBag<(Type Type, Action<object, TextWriter> Format, string MimeType)> Registered = [];
    public static readonly ConcurrentBag<(Type, string)> Preferred = [];

    public static void Register(Type type, Action<object, TextWriter> formatter, string mimeType = "text/plain", bool addToDefaults = false) =>
        Registered.Add((type, formatter, mimeType));

    public static void SetPreferredMimeTypeFor(Type type, string preferredMimeType, bool addToDefaults = false) =>
        Preferred.Add((type, preferredMimeType));
}
