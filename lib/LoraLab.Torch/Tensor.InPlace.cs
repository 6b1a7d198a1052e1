using LoraLab.Torch.Native;

namespace LoraLab.Torch;

// In-place updates, the building blocks of optimizers. Each returns this tensor, as in PyTorch.
public sealed partial class Tensor
{
    private Tensor InPlace(InPlaceOp op, Tensor other, double alpha = 1)
    {
        Checked.Status(NativeMethods.lt_inplace((int)op, Handle, other.Handle, alpha),
                       $"{op.ToString().ToLowerInvariant()}_ of shape {ShapeText()} with {other.ShapeText()}");
        return this;
    }

    private Tensor InPlace(InPlaceScalarOp op, double value)
    {
        Checked.Status(NativeMethods.lt_inplace_scalar((int)op, Handle, value), op.ToString().ToLowerInvariant() + "_");
        return this;
    }

    private Tensor UnaryInPlace(UnaryOp op)
    {
        Checked.Status(NativeMethods.lt_unary_((int)op, Handle), op.ToString().ToLowerInvariant() + "_");
        return this;
    }

    /// <summary>this += alpha * other</summary>
    public Tensor add_(Tensor other, double alpha = 1) => InPlace(InPlaceOp.Add, other, alpha);
    public Tensor sub_(Tensor other, double alpha = 1) => InPlace(InPlaceOp.Sub, other, alpha);
    public Tensor mul_(Tensor other) => InPlace(InPlaceOp.Mul, other);
    public Tensor div_(Tensor other) => InPlace(InPlaceOp.Div, other);
    public Tensor copy_(Tensor source) => InPlace(InPlaceOp.Copy, source);
    public Tensor maximum_(Tensor other) => InPlace(InPlaceOp.Maximum, other);

    public Tensor add_(double value) => InPlace(InPlaceScalarOp.Add, value);
    public Tensor mul_(double value) => InPlace(InPlaceScalarOp.Mul, value);
    public Tensor div_(double value) => InPlace(InPlaceScalarOp.Div, value);
    public Tensor fill_(double value) => InPlace(InPlaceScalarOp.Fill, value);
    public Tensor pow_(double exponent) => InPlace(InPlaceScalarOp.Pow, exponent);
    public Tensor clamp_min_(double min) => InPlace(InPlaceScalarOp.ClampMin, min);
    public Tensor clamp_max_(double max) => InPlace(InPlaceScalarOp.ClampMax, max);

    public Tensor neg_() => UnaryInPlace(UnaryOp.Neg);
    public Tensor abs_() => UnaryInPlace(UnaryOp.Abs);
    public Tensor exp_() => UnaryInPlace(UnaryOp.Exp);
    public Tensor sqrt_() => UnaryInPlace(UnaryOp.Sqrt);
    public Tensor sign_() => UnaryInPlace(UnaryOp.Sign);
    public Tensor relu_() => UnaryInPlace(UnaryOp.Relu);

    /// <summary>this += value * a * b</summary>
    public Tensor addcmul_(Tensor a, Tensor b, double value = 1)
    {
        Checked.Status(NativeMethods.lt_addcmul_(Handle, a.Handle, b.Handle, value), "addcmul_");
        return this;
    }

    /// <summary>this += value * a / b</summary>
    public Tensor addcdiv_(Tensor a, Tensor b, double value = 1)
    {
        Checked.Status(NativeMethods.lt_addcdiv_(Handle, a.Handle, b.Handle, value), "addcdiv_");
        return this;
    }

    /// <summary>this += weight * (end - this)</summary>
    public Tensor lerp_(Tensor end, double weight)
    {
        Checked.Status(NativeMethods.lt_lerp_(Handle, end.Handle, weight), "lerp_");
        return this;
    }

    public Tensor zero_()
    {
        Checked.Status(NativeMethods.lt_zero_(Handle), "zero_");
        return this;
    }

    /// <summary>Fills with samples of N(mean, std^2), in place (no gradient is recorded).</summary>
    public Tensor normal_(double mean = 0, double std = 1)
    {
        using (torch.no_grad()) Checked.Status(NativeMethods.lt_normal_(Handle, mean, std), "normal_");
        return this;
    }

    /// <summary>Fills with samples of U(from, to), in place (no gradient is recorded).</summary>
    public Tensor uniform_(double from = 0, double to = 1)
    {
        using (torch.no_grad()) Checked.Status(NativeMethods.lt_uniform_(Handle, from, to), "uniform_");
        return this;
    }
}
