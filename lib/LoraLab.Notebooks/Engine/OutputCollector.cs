using System.Text;

namespace LoraLab.Notebooks.Engine;

/// <summary>
/// Gathers a running cell's outputs in order. Console writes arrive through <see cref="StandardOutput"/> and
/// <see cref="StandardError"/>; consecutive writes to the same stream merge into one output, as in Jupyter.
/// </summary>
sealed class OutputCollector
{
    readonly List<CellOutput> outputs = [];
    readonly Lock gate = new(); // a cell may write from background threads

    public OutputCollector()
    {
        StandardOutput = new StreamWriter(this, "stdout");
        StandardError = new StreamWriter(this, "stderr");
    }

    public TextWriter StandardOutput { get; }
    public TextWriter StandardError { get; }

    public IReadOnlyList<CellOutput> Outputs
    {
        get { lock (gate) return outputs.ToList(); }
    }

    public void Add(CellOutput output)
    {
        lock (gate) outputs.Add(output);
    }

    void AppendStream(string name, string text)
    {
        if (text.Length == 0) return;
        lock (gate)
        {
            if (outputs.Count > 0 && outputs[^1] is StreamOutput last && last.Name == name)
                outputs[^1] = last with { Text = last.Text + text };
            else
                outputs.Add(new StreamOutput(name, text));
        }
    }

    sealed class StreamWriter(OutputCollector collector, string name) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;
        public override void Write(char value) => collector.AppendStream(name, value.ToString());
        public override void Write(string? value) => collector.AppendStream(name, value ?? "");
        public override void Write(char[] buffer, int index, int count) => collector.AppendStream(name, new string(buffer, index, count));
    }
}
