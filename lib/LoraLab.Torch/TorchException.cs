namespace LoraLab.Torch;

/// <summary>An error raised by libtorch (or by the shim's checks), carried into .NET.
/// The process goes on: the failed operation produced nothing and changed nothing.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message) { }
}
