using LoraLab.Torch.Native;

namespace LoraLab.Torch;

// Gradients of a tensor: requires_grad, grad, backward, detach.
public sealed partial class Tensor
{
    public bool requires_grad
    {
        get => NativeMethods.lt_requires_grad(Handle) != 0;
        set => Checked.Status(NativeMethods.lt_set_requires_grad(Handle, value ? 1 : 0), "requires_grad");
    }

    public Tensor requires_grad_(bool requires_grad = true)
    {
        this.requires_grad = requires_grad;
        return this;
    }

    public bool is_leaf => NativeMethods.lt_is_leaf(Handle) != 0;

    /// <summary>The accumulated gradient (a new handle to it), or null when none has been computed.
    /// Setting null clears it, as PyTorch's zero_grad(set_to_none=True).</summary>
    public Tensor? grad
    {
        get => Checked.Optional(NativeMethods.lt_grad(Handle));
        set => Checked.Status(NativeMethods.lt_set_grad(Handle, value?.Handle ?? IntPtr.Zero), "setting grad");
    }

    /// <summary>Accumulates d(this)/d(leaf) into every leaf's grad. A non-scalar tensor needs `gradient`.</summary>
    public void backward(Tensor? gradient = null, bool retain_graph = false, bool create_graph = false) =>
        Checked.Status(NativeMethods.lt_backward(Handle, gradient?.Handle ?? IntPtr.Zero, retain_graph ? 1 : 0, create_graph ? 1 : 0), "backward");

    /// <summary>Asks autograd to keep this non-leaf tensor's gradient.</summary>
    public Tensor retain_grad()
    {
        Checked.Status(NativeMethods.lt_retain_grad(Handle), "retain_grad");
        return this;
    }

    /// <summary>The same values, cut from the graph (shares storage).</summary>
    public Tensor detach() => Checked.Tensor(NativeMethods.lt_detach(Handle));
}
