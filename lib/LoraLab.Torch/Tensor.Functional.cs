using LoraLab.Torch.Native;

namespace LoraLab.Torch;

// Method forms of the neural-network functions that PyTorch also offers on tensors.
public sealed partial class Tensor
{
    public Tensor softmax(long dim) => Checked.Tensor(NativeMethods.lt_softmax(Handle, dim), $"softmax(dim={dim}) of shape {ShapeText()}");
    public Tensor log_softmax(long dim) => Checked.Tensor(NativeMethods.lt_log_softmax(Handle, dim), $"log_softmax(dim={dim}) of shape {ShapeText()}");
}
