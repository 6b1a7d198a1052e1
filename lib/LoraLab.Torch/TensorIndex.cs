namespace LoraLab.Torch;

/// <summary>
/// One entry of an index expression, as in Python's x[1, :, None, ...]. Converts implicitly
/// from an integer (select), a C# range (slice: x[.., 1..^1] is x[:, 1:-1]), or a tensor
/// (positions or a boolean mask); TensorIndex.Ellipsis, TensorIndex.None and
/// TensorIndex.Slice(start, end, step) cover the rest.
/// </summary>
public readonly struct TensorIndex
{
    internal enum Kind { Single, Slice, Ellipsis, None, Tensor }

    internal Kind kind { get; }
    internal long start { get; }
    internal long end { get; }
    internal long step { get; }
    internal Tensor? tensor { get; }

    private TensorIndex(Kind kind, long start = 0, long end = long.MaxValue, long step = 1, Tensor? tensor = null)
    {
        this.kind = kind;
        this.start = start;
        this.end = end;
        this.step = step;
        this.tensor = tensor;
    }

    public static readonly TensorIndex Ellipsis = new(Kind.Ellipsis);

    /// <summary>A new dimension of size 1 (Python's None / np.newaxis).</summary>
    public static readonly TensorIndex None = new(Kind.None);

    /// <summary>Python's start:end:step; a missing end means "to the end".</summary>
    public static TensorIndex Slice(long? start = null, long? end = null, long step = 1)
    {
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step), "a slice step must be positive");
        return new(Kind.Slice, start ?? 0, end ?? long.MaxValue, step);
    }

    public static TensorIndex Single(long index) => new(Kind.Single, index);

    public static implicit operator TensorIndex(long index) => Single(index);
    public static implicit operator TensorIndex(int index) => Single(index);
    public static implicit operator TensorIndex(Tensor index) => new(Kind.Tensor, tensor: index);

    public static implicit operator TensorIndex(Range range)
    {
        long start = range.Start.IsFromEnd ? -range.Start.Value : range.Start.Value;
        long end = range.End.IsFromEnd ? (range.End.Value == 0 ? long.MaxValue : -range.End.Value) : range.End.Value;
        return new(Kind.Slice, start, end, 1);
    }
}
