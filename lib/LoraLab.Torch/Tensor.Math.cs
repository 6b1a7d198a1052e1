using LoraLab.Torch.Native;

namespace LoraLab.Torch;

// Elementwise functions, arithmetic (with C# operators) and comparisons.
public sealed partial class Tensor
{
    private Tensor Unary(UnaryOp op) => Checked.Tensor(NativeMethods.lt_unary((int)op, Handle), op.ToString().ToLowerInvariant());

    private Tensor Binary(BinaryOp op, Tensor other)
    {
        IntPtr result = NativeMethods.lt_binary((int)op, Handle, other.Handle);
        // Name the operation and both shapes: libtorch's message alone does not always say them.
        return result != IntPtr.Zero ? new Tensor(result)
            : throw Checked.Error($"{op.ToString().ToLowerInvariant()} of shapes {ShapeText()} and {other.ShapeText()}");
    }

    private Tensor Scalar(ScalarOp op, double value) => Checked.Tensor(NativeMethods.lt_scalar((int)op, Handle, value), op.ToString().ToLowerInvariant());

    public Tensor neg() => Unary(UnaryOp.Neg);
    public Tensor abs() => Unary(UnaryOp.Abs);
    public Tensor exp() => Unary(UnaryOp.Exp);
    public Tensor log() => Unary(UnaryOp.Log);
    public Tensor log2() => Unary(UnaryOp.Log2);
    public Tensor log1p() => Unary(UnaryOp.Log1p);
    public Tensor expm1() => Unary(UnaryOp.Expm1);
    public Tensor sqrt() => Unary(UnaryOp.Sqrt);
    public Tensor rsqrt() => Unary(UnaryOp.Rsqrt);
    public Tensor relu() => Unary(UnaryOp.Relu);
    /// <summary>GELU; approximate "tanh" gives the tanh approximation.</summary>
    public Tensor gelu(string approximate = "none") => Unary(approximate == "tanh" ? UnaryOp.GeluTanh : UnaryOp.Gelu);
    public Tensor silu() => Unary(UnaryOp.Silu);
    public Tensor tanh() => Unary(UnaryOp.Tanh);
    public Tensor sigmoid() => Unary(UnaryOp.Sigmoid);
    public Tensor sign() => Unary(UnaryOp.Sign);
    public Tensor square() => Unary(UnaryOp.Square);
    public Tensor sin() => Unary(UnaryOp.Sin);
    public Tensor cos() => Unary(UnaryOp.Cos);
    public Tensor floor() => Unary(UnaryOp.Floor);
    public Tensor ceil() => Unary(UnaryOp.Ceil);
    public Tensor round() => Unary(UnaryOp.Round);
    public Tensor reciprocal() => Unary(UnaryOp.Reciprocal);
    public Tensor erf() => Unary(UnaryOp.Erf);
    public Tensor logical_not() => Unary(UnaryOp.LogicalNot);
    public Tensor isnan() => Unary(UnaryOp.IsNan);
    public Tensor isinf() => Unary(UnaryOp.IsInf);
    public Tensor isfinite() => Unary(UnaryOp.IsFinite);

    public Tensor add(Tensor other) => Binary(BinaryOp.Add, other);
    public Tensor sub(Tensor other) => Binary(BinaryOp.Sub, other);
    public Tensor mul(Tensor other) => Binary(BinaryOp.Mul, other);
    public Tensor div(Tensor other) => Binary(BinaryOp.Div, other);
    public Tensor pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor maximum(Tensor other) => Binary(BinaryOp.Maximum, other);
    public Tensor minimum(Tensor other) => Binary(BinaryOp.Minimum, other);
    public Tensor remainder(Tensor other) => Binary(BinaryOp.Remainder, other);
    public Tensor floor_divide(Tensor other) => Binary(BinaryOp.FloorDivide, other);
    public Tensor atan2(Tensor other) => Binary(BinaryOp.Atan2, other);
    public Tensor matmul(Tensor other) => Binary(BinaryOp.Matmul, other);
    public Tensor bmm(Tensor other) => Binary(BinaryOp.Bmm, other);
    public Tensor outer(Tensor other) => Binary(BinaryOp.Outer, other);
    public Tensor logical_and(Tensor other) => Binary(BinaryOp.LogicalAnd, other);
    public Tensor logical_or(Tensor other) => Binary(BinaryOp.LogicalOr, other);

    public Tensor add(double value) => Scalar(ScalarOp.Add, value);
    public Tensor sub(double value) => Scalar(ScalarOp.Sub, value);
    public Tensor mul(double value) => Scalar(ScalarOp.Mul, value);
    public Tensor div(double value) => Scalar(ScalarOp.Div, value);
    public Tensor pow(double exponent) => Scalar(ScalarOp.Pow, exponent);
    public Tensor remainder(double value) => Scalar(ScalarOp.Remainder, value);

    public Tensor eq(Tensor other) => Binary(BinaryOp.Eq, other);
    public Tensor ne(Tensor other) => Binary(BinaryOp.Ne, other);
    public Tensor lt(Tensor other) => Binary(BinaryOp.Lt, other);
    public Tensor le(Tensor other) => Binary(BinaryOp.Le, other);
    public Tensor gt(Tensor other) => Binary(BinaryOp.Gt, other);
    public Tensor ge(Tensor other) => Binary(BinaryOp.Ge, other);
    public Tensor eq(double value) => Scalar(ScalarOp.Eq, value);
    public Tensor ne(double value) => Scalar(ScalarOp.Ne, value);
    public Tensor lt(double value) => Scalar(ScalarOp.Lt, value);
    public Tensor le(double value) => Scalar(ScalarOp.Le, value);
    public Tensor gt(double value) => Scalar(ScalarOp.Gt, value);
    public Tensor ge(double value) => Scalar(ScalarOp.Ge, value);

    public Tensor clamp(double? min = null, double? max = null) =>
        Checked.Tensor(NativeMethods.lt_clamp(Handle, min ?? 0, min.HasValue ? 1 : 0, max ?? 0, max.HasValue ? 1 : 0), "clamp");
    public Tensor clamp_min(double min) => clamp(min: min);
    public Tensor clamp_max(double max) => clamp(max: max);

    public Tensor masked_fill(Tensor mask, double value) =>
        Checked.Tensor(NativeMethods.lt_masked_fill(Handle, mask.Handle, value), $"masked_fill of shape {ShapeText()} with mask {mask.ShapeText()}");

    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator +(Tensor a, double b) => a.add(b);
    public static Tensor operator -(Tensor a, double b) => a.sub(b);
    public static Tensor operator *(Tensor a, double b) => a.mul(b);
    public static Tensor operator /(Tensor a, double b) => a.div(b);
    public static Tensor operator +(double a, Tensor b) => b.add(a);
    public static Tensor operator -(double a, Tensor b) => b.Scalar(ScalarOp.RSub, a);
    public static Tensor operator *(double a, Tensor b) => b.mul(a);
    public static Tensor operator /(double a, Tensor b) => b.Scalar(ScalarOp.RDiv, a);
    public static Tensor operator -(Tensor a) => a.neg();
}
