namespace LoraLab.Torch;

/// <summary>
/// Frees every tensor created while it is the innermost scope on this thread, when it is disposed.
/// A training step wraps itself in one, so its temporaries (activations, gradients of
/// intermediate results) are freed at once instead of waiting for the garbage collector:
/// <code>
/// using (var scope = torch.NewDisposeScope())
/// {
///     var loss = model.forward(x).sub(y).pow(2).mean();
///     loss.backward();
///     return loss.detach().MoveToOuterDisposeScope();   // survives the scope
/// }
/// </code>
/// Scopes nest. Tensors that must outlive every scope (parameters, optimizer state) call
/// <see cref="Tensor.DetachFromDisposeScope"/>.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly List<Tensor> owned = new();
    private readonly DisposeScope? outer;
    private bool disposed;

    internal DisposeScope()
    {
        outer = current;
        current = this;
    }

    /// <summary>The innermost open scope of this thread, if any.</summary>
    public static DisposeScope? Current => current;

    public DisposeScope? OuterScope => outer;

    /// <summary>How many tensors this scope holds (some may be disposed already).</summary>
    public int Count => owned.Count;

    internal void Add(Tensor tensor) => owned.Add(tensor);

    internal void Remove(Tensor tensor)
    {
        // Most often the tensor is the most recent one: search from the end.
        int i = owned.LastIndexOf(tensor);
        if (i >= 0) owned.RemoveAt(i);
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var tensor in owned)
        {
            tensor.OwningScope = null;
            tensor.Dispose();
        }
        owned.Clear();
        // Scopes close innermost first; if one is closed out of order, fall back to its outer scope.
        if (current == this) current = outer;
    }
}
