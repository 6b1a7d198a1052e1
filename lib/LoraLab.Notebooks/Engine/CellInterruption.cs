namespace LoraLab.Notebooks.Engine;

/// <summary>
/// How a running cell learns that it was interrupted. A .NET thread cannot be stopped from outside, so interruption is
/// cooperative: <see cref="LoopInterruptionRewriter"/> puts a call to <see cref="ThrowIfRequested"/> at the top of every
/// loop body of a cell, and the call throws once the cell's cancellation token is cancelled (a Jupyter interrupt).
/// A cell blocked in one long call that has no loop (Thread.Sleep, a big native operation) stops when that call returns.
/// </summary>
public static class CellInterruption
{
    // AsyncLocal rather than a static field: tasks and threads a cell starts inherit its token, and two kernels in one
    // process (tests) never see each other's.
    static readonly AsyncLocal<CancellationToken> current = new();

    /// <summary>Called by rewritten cell code at each loop iteration; throws OperationCanceledException after an interrupt.</summary>
    public static void ThrowIfRequested() => current.Value.ThrowIfCancellationRequested();

    /// <summary>Makes <paramref name="token"/> the running cell's token until the returned scope is disposed.</summary>
    internal static Scope Enter(CancellationToken token)
    {
        var previous = current.Value;
        current.Value = token;
        return new Scope(previous);
    }

    internal readonly struct Scope(CancellationToken previous) : IDisposable
    {
        public void Dispose() => current.Value = previous;
    }
}
