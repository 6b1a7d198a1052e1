using System.Text;

namespace LoraLab.Notebooks.Engine;

/// <summary>
/// Gathers a running cell's outputs in order. Console writes arrive through <see cref="StandardOutput"/> and
/// <see cref="StandardError"/>; consecutive writes to the same stream merge into one output, as in Jupyter.
/// Appending costs the length of the new text only (a StringBuilder per stream run), and a cell keeps at most
/// <see cref="MaxStreamChars"/> characters of console text: the rest is counted and noted at the end, so a cell that
/// prints 50 MB neither takes minutes nor fills the report.
/// </summary>
sealed class OutputCollector(int maxStreamChars = OutputCollector.DefaultMaxStreamChars, Action<CellOutput>? onOutput = null)
{
    /// <summary>About 1 MB of console text per cell.</summary>
    public const int DefaultMaxStreamChars = 1_000_000;

    // Stream runs are kept as builders while the cell runs and turned into StreamOutputs when read.
    readonly List<object> parts = []; // CellOutput or StreamRun
    readonly Lock gate = new(); // a cell may write from background threads
    int keptStreamChars;
    long droppedStreamBytes;

    public int MaxStreamChars => maxStreamChars;

    public TextWriter StandardOutput => field ??= new StreamWriter(this, "stdout");
    public TextWriter StandardError => field ??= new StreamWriter(this, "stderr");

    /// <summary>The outputs so far, with a note at the end when console text was cut.</summary>
    public IReadOnlyList<CellOutput> Outputs
    {
        get
        {
            lock (gate)
            {
                var outputs = parts.Select(part => part is StreamRun run ? new StreamOutput(run.Name, run.Text.ToString()) : (CellOutput)part).ToList();
                if (droppedStreamBytes > 0) outputs.Add(new StreamOutput("stderr", TruncationNote(droppedStreamBytes)));
                return outputs;
            }
        }
    }

    public static string TruncationNote(long droppedBytes) => $"\n... output truncated: {droppedBytes:N0} bytes more\n";

    public void Add(CellOutput output)
    {
        lock (gate) parts.Add(output);
        onOutput?.Invoke(output);
    }

    void AppendStream(string name, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty) return;
        string kept;
        lock (gate)
        {
            var room = Math.Max(0, maxStreamChars - keptStreamChars);
            if (text.Length > room)
            {
                droppedStreamBytes += Encoding.UTF8.GetByteCount(text[room..]);
                text = text[..room];
                if (text.IsEmpty) return;
            }
            keptStreamChars += text.Length;
            if (parts.Count > 0 && parts[^1] is StreamRun last && last.Name == name) last.Text.Append(text);
            else parts.Add(new StreamRun(name, new StringBuilder().Append(text)));
            kept = onOutput is null ? "" : text.ToString();
        }
        onOutput?.Invoke(new StreamOutput(name, kept));
    }

    sealed record StreamRun(string Name, StringBuilder Text);

    sealed class StreamWriter(OutputCollector collector, string name) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;
        public override void Write(char value) => collector.AppendStream(name, [value]);
        public override void Write(string? value) => collector.AppendStream(name, value);
        public override void Write(char[] buffer, int index, int count) => collector.AppendStream(name, buffer.AsSpan(index, count));
        public override void Write(ReadOnlySpan<char> buffer) => collector.AppendStream(name, buffer);
    }
}
