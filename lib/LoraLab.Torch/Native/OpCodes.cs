namespace LoraLab.Torch.Native;

// Operation codes of the shim's grouped entry points; the order must match the enums in
// shim/math.cpp exactly.
internal enum UnaryOp
{
    Neg, Abs, Exp, Log, Sqrt, Rsqrt, Relu, Gelu, GeluTanh, Silu, Tanh, Sigmoid, Sign,
    Square, Sin, Cos, Floor, Ceil, Round, Reciprocal, Erf, LogicalNot, IsNan, IsInf,
    IsFinite, Log1p, Expm1, Log2
}

internal enum BinaryOp
{
    Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, Matmul, Bmm,
    LogicalAnd, LogicalOr, Remainder, Atan2, FloorDivide, Outer
}

internal enum ScalarOp { Add, Sub, Mul, Div, Pow, Eq, Ne, Lt, Le, Gt, Ge, RSub, RDiv, RPow, Remainder }

internal enum InPlaceOp { Add, Sub, Mul, Div, Copy, Maximum }

internal enum InPlaceScalarOp { Add, Mul, Div, Fill, Pow, ClampMin, ClampMax }

internal enum ReduceOp { Sum, Mean, Amax, Amin, Prod, LogSumExp, All, Any }
