using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Experiments;

/// <summary>
/// The toy's training loss as an autograd function of A ([r, n]) and B ([n, r]): forward runs
/// <see cref="ToyLossKernel"/>, which also yields the gradients, and backward hands them on (times the incoming gradient),
/// so <c>loss.backward()</c> fills A's and B's gradients as libtorch's own operations would.
/// Call as <c>ToyLossFunction.apply(A, B, inputs)</c>.
/// </summary>
internal sealed class ToyLossFunction : torch.autograd.SingleTensorFunction<ToyLossFunction>
{
    /// <summary>What the loss depends on besides A and B, fixed through a run: z and W z ([N, n]), y ([N, 1]),
    /// w_out's weight ([1, n]), all float32, contiguous, on the CPU; and LoRA's scaling s.</summary>
    public sealed record Inputs(Tensor z, Tensor wz, Tensor y, Tensor w_out, double scaling);

    public override string Name => nameof(ToyLossFunction);

    public override Tensor forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var (a, b, x) = ((Tensor)vars[0], (Tensor)vars[1], (Inputs)vars[2]);
        using var noGrad = torch.no_grad();
        using var aRows = a.contiguous();
        using var bt = b.t().contiguous();
        var gradA = torch.empty_like(aRows);
        using var gradBt = torch.empty_like(bt);
        double loss = ToyLossKernel.LossAndGradients(ToyLossKernel.Elements(x.z), ToyLossKernel.Elements(x.wz), ToyLossKernel.Elements(x.y),
                                                     ToyLossKernel.Elements(aRows), ToyLossKernel.Elements(bt), (float)x.scaling,
                                                     ToyLossKernel.Elements(x.w_out), ToyLossKernel.Elements(gradA), ToyLossKernel.Elements(gradBt));
        ctx.save_for_backward([gradA, gradBt.t().contiguous()]);
        return torch.tensor((float)loss);
    }

    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, Tensor grad_output)
    {
        var gradients = ctx.get_saved_variables();
        return [gradients[0] * grad_output, gradients[1] * grad_output, null!];
    }
}
