namespace LoraLab.Notebooks.Documents;

/// <summary>
/// Writes a file so that a reader (or a run killed mid-write) sees the old content or the new, never half of it:
/// the text goes to a temporary file next to the target, which then replaces the target in one rename.
/// </summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        var temporary = path + $".{Environment.ProcessId}.tmp";     // two writers never share a temporary file
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
