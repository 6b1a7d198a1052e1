using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Torch.Tests;

/// <summary>Every differentiable operation the models use has autograd gradients equal to finite differences (float64).</summary>
public class GradientTests
{
    private static double[] V(int n, int seed) => GradCheck.Values(n, seed);
    private static double[] P(int n, int seed) => GradCheck.Positive(n, seed);
    private static long[] S(params long[] s) => s;

    [Fact] public void Add_sub_mul_div_with_broadcasting() =>
        GradCheck.Assert(t => (t[0].view(2, 3) + t[1]) * t[0].view(2, 3) - t[1] / t[2].view(1, 3), new[] { V(6, 1), V(3, 2), P(3, 3) }, new[] { S(6), S(3), S(3) });

    [Fact] public void Scalar_arithmetic() =>
        GradCheck.Assert(t => 2.0 - t[0] * 3.0 + 1.5 / t[1] - t[0] / 4.0, P(4, 1), P(4, 2));

    [Fact] public void Matmul() => GradCheck.Assert(t => t[0].matmul(t[1]), new[] { V(6, 1), V(12, 2) }, new[] { S(2, 3), S(3, 4) });

    [Fact] public void Bmm() => GradCheck.Assert(t => t[0].bmm(t[1]), new[] { V(12, 1), V(12, 2) }, new[] { S(2, 2, 3), S(2, 3, 2) });

    [Fact] public void Linear_with_bias() =>
        GradCheck.Assert(t => F.linear(t[0], t[1], t[2]), new[] { V(6, 1), V(12, 2), V(4, 3) }, new[] { S(2, 3), S(4, 3), S(4) });

    [Theory]
    [InlineData("exp")] [InlineData("log")] [InlineData("sqrt")] [InlineData("rsqrt")] [InlineData("tanh")]
    [InlineData("sigmoid")] [InlineData("relu")] [InlineData("gelu")] [InlineData("gelu_tanh")] [InlineData("silu")]
    [InlineData("pow")] [InlineData("square")] [InlineData("abs")] [InlineData("neg")] [InlineData("reciprocal")]
    public void Elementwise_function(string name)
    {
        Func<Tensor, Tensor> f = name switch
        {
            "exp" => x => x.exp(), "log" => x => x.log(), "sqrt" => x => x.sqrt(), "rsqrt" => x => x.rsqrt(),
            "tanh" => x => x.tanh(), "sigmoid" => x => x.sigmoid(), "relu" => x => x.relu(), "gelu" => x => x.gelu(),
            "gelu_tanh" => x => x.gelu("tanh"), "silu" => x => x.silu(), "pow" => x => x.pow(2.5), "square" => x => x.square(),
            "abs" => x => x.abs(), "neg" => x => -x, "reciprocal" => x => x.reciprocal(),
            _ => throw new ArgumentException(name),
        };
        bool positiveOnly = name is "log" or "sqrt" or "rsqrt" or "pow" or "reciprocal";
        GradCheck.Assert(t => f(t[0]), positiveOnly ? P(6, 7) : V(6, 7));
    }

    [Fact] public void Softmax() => GradCheck.Assert(t => t[0].softmax(-1), new[] { V(8, 1) }, new[] { S(2, 4) });

    [Fact] public void Log_softmax() => GradCheck.Assert(t => t[0].log_softmax(1), new[] { V(8, 1) }, new[] { S(2, 4) });

    [Fact]
    public void Cross_entropy_with_ignored_targets()
    {
        var target = torch.tensor(new long[] { 2, -100, 0 });
        GradCheck.Assert(t => F.cross_entropy(t[0], target), new[] { V(12, 1) }, new[] { S(3, 4) });
    }

    [Fact]
    public void Cross_entropy_with_label_smoothing_and_sum()
    {
        var target = torch.tensor(new long[] { 1, 3 });
        GradCheck.Assert(t => F.cross_entropy(t[0], target, reduction: torch.nn.Reduction.Sum, label_smoothing: 0.1), new[] { V(8, 1) }, new[] { S(2, 4) });
    }

    [Fact] public void Mse_loss() => GradCheck.Assert(t => F.mse_loss(t[0], t[1]), V(6, 1), V(6, 2));

    [Fact]
    public void Layer_norm() =>
        GradCheck.Assert(t => F.layer_norm(t[0], new long[] { 4 }, t[1], t[2]), new[] { V(8, 1), V(4, 2), V(4, 3) }, new[] { S(2, 4), S(4), S(4) });

    [Fact]
    public void Embedding_lookup()
    {
        var ids = torch.tensor(new long[] { 0, 2, 2, 1 }, new long[] { 2, 2 });
        GradCheck.Assert(t => F.embedding(ids, t[0]), new[] { V(9, 1) }, new[] { S(3, 3) });
    }

    [Fact] public void Dropout_in_eval_mode_is_identity() => GradCheck.Assert(t => F.dropout(t[0], 0.5, training: false) * 2.0, V(4, 1));

    [Fact]
    public void Reductions()
    {
        GradCheck.Assert(t => t[0].sum(1), new[] { V(6, 1) }, new[] { S(2, 3) });
        GradCheck.Assert(t => t[0].mean(new long[] { 0, 1 }, keepdim: true), new[] { V(6, 2) }, new[] { S(2, 3) });
        GradCheck.Assert(t => t[0].var(1), new[] { V(6, 3) }, new[] { S(2, 3) });
        GradCheck.Assert(t => t[0].norm(2, 1), new[] { V(6, 4) }, new[] { S(2, 3) });
        GradCheck.Assert(t => t[0].amax(1), new[] { V(6, 5) }, new[] { S(2, 3) });
        GradCheck.Assert(t => t[0].logsumexp(1), new[] { V(6, 6) }, new[] { S(2, 3) });
    }

    [Fact]
    public void Shape_operations()
    {
        GradCheck.Assert(t => t[0].view(3, 2).transpose(0, 1).reshape(6) * t[1], new[] { V(6, 1), V(6, 2) }, new[] { S(2, 3), S(6) });
        GradCheck.Assert(t => t[0].permute(2, 0, 1).contiguous().flatten() * t[1], new[] { V(8, 3), V(8, 4) }, new[] { S(2, 2, 2), S(8) });
        GradCheck.Assert(t => torch.cat(new[] { t[0], t[1] }, 1), new[] { V(4, 5), V(2, 6) }, new[] { S(2, 2), S(2, 1) });
        GradCheck.Assert(t => torch.stack(new[] { t[0], t[1] * t[0] }, 0), V(3, 7), V(3, 8));
        GradCheck.Assert(t => t[0].narrow(1, 1, 2).unsqueeze(0).squeeze(0), new[] { V(6, 9) }, new[] { S(2, 3) });
        GradCheck.Assert(t => t[0][.., 1..^0] * 2.0, new[] { V(6, 10) }, new[] { S(2, 3) });
        GradCheck.Assert(t => t[0].expand(3, 2) * t[1], new[] { V(2, 11), V(6, 12) }, new[] { S(1, 2), S(3, 2) });
    }

    [Fact]
    public void Gather_and_index_select()
    {
        var index = torch.tensor(new long[] { 2, 0, 1, 1 }, new long[] { 2, 2 });
        GradCheck.Assert(t => t[0].gather(1, index), new[] { V(6, 1) }, new[] { S(2, 3) });
        var rows = torch.tensor(new long[] { 1, 1, 0 });
        GradCheck.Assert(t => t[0].index_select(0, rows), new[] { V(6, 2) }, new[] { S(2, 3) });
    }

    [Fact]
    public void Masked_fill_where_and_tril()
    {
        var mask = torch.tensor(new[] { true, false, false, true }, new long[] { 2, 2 });
        GradCheck.Assert(t => t[0].masked_fill(mask, 0.0) * t[0], new[] { V(4, 1) }, new[] { S(2, 2) });
        GradCheck.Assert(t => torch.where(mask, t[0], t[1] * 2.0), new[] { V(4, 2), V(4, 3) }, new[] { S(2, 2), S(2, 2) });
        GradCheck.Assert(t => t[0].tril(), new[] { V(9, 4) }, new[] { S(3, 3) });
        GradCheck.Assert(t => t[0].clamp(-0.3, 0.3), V(6, 5));
    }

    [Fact]
    public void Scaled_dot_product_attention_causal() =>
        GradCheck.Assert(t => F.scaled_dot_product_attention(t[0], t[1], t[2], is_causal: true),
                         new[] { V(12, 1), V(12, 2), V(12, 3) }, new[] { S(1, 3, 4), S(1, 3, 4), S(1, 3, 4) });

    [Fact]
    public void Svd_singular_values()
    {
        // Singular values are differentiable where they are distinct and nonzero.
        GradCheck.Assert(t => torch.linalg.svdvals(t[0]), new[] { new double[] { 3, 1, 0.5, 2, -1, 0.2 } }, new[] { S(3, 2) });
    }
}
