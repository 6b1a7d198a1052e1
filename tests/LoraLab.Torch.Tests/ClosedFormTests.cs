using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Torch.Tests;

/// <summary>Values against closed forms.</summary>
public class ClosedFormTests
{
    [Fact]
    public void Softmax_rows_sum_to_one_and_preserve_order()
    {
        using var scope = torch.NewDisposeScope();
        var p = torch.randn(5, 7).softmax(-1);
        var sums = p.sum(1).data<float>();
        Assert.All(sums, s => Assert.Equal(1.0, s, 5));
        var x = torch.tensor(new float[] { 1, 3, 2 });
        Assert.Equal(new long[] { 1 }, new[] { x.softmax(0).argmax().ToInt64() });
    }

    [Fact]
    public void Cross_entropy_of_a_known_case()
    {
        using var scope = torch.NewDisposeScope();
        // logits (0, ln 3) for target 1: p = 3/4, loss = ln(4/3). Target 0 of (0, 0): ln 2.
        var logits = torch.tensor(new double[] { 0, Math.Log(3), 0, 0 }, new long[] { 2, 2 });
        var target = torch.tensor(new long[] { 1, 0 });
        var loss = F.cross_entropy(logits, target, reduction: torch.nn.Reduction.None).data<double>();
        Assert.Equal(Math.Log(4.0 / 3), loss[0], 12);
        Assert.Equal(Math.Log(2), loss[1], 12);
        // An ignored target leaves the mean over the others.
        var ignored = torch.tensor(new long[] { 1, -100 });
        Assert.Equal(Math.Log(4.0 / 3), F.cross_entropy(logits, ignored).ToDouble(), 12);
    }

    [Fact]
    public void Svd_reconstructs_its_input_with_orthonormal_factors()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn(new long[] { 6, 4 }, torch.float64);
        var (u, s, vh) = torch.linalg.svd(a);
        Assert.Equal(new long[] { 6, 4 }, u.shape);
        var rebuilt = (u * s.unsqueeze(0)).matmul(vh);
        Assert.True(rebuilt.allclose(a, atol: 1e-12));
        Assert.True(u.T.matmul(u).allclose(torch.eye(4, dtype: torch.float64), atol: 1e-12));
        var sv = s.data<double>();
        Assert.True(sv.Zip(sv.Skip(1)).All(p => p.First >= p.Second), "singular values descend");
        Assert.True(torch.linalg.svdvals(a).allclose(s));
    }

    [Fact]
    public void Matrix_rank_of_a_product_of_thin_factors_is_their_width()
    {
        using var scope = torch.NewDisposeScope();
        var low = torch.randn(new long[] { 20, 3 }, torch.float64).matmul(torch.randn(new long[] { 3, 15 }, torch.float64));
        Assert.Equal(3, torch.linalg.matrix_rank(low));
        Assert.Equal(15, torch.linalg.matrix_rank(torch.randn(new long[] { 20, 15 }, torch.float64)));
    }

    [Fact]
    public void Qr_gives_orthonormal_q_and_upper_triangular_r()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn(new long[] { 5, 3 }, torch.float64);
        var (q, r) = torch.linalg.qr(a);
        Assert.True(q.matmul(r).allclose(a, atol: 1e-12));
        Assert.True(q.T.matmul(q).allclose(torch.eye(3, dtype: torch.float64), atol: 1e-12));
        Assert.True(r.tril(-1).abs().max().ToDouble() == 0);
    }

    [Fact]
    public void Eigh_diagonalizes_a_symmetric_matrix()
    {
        using var scope = torch.NewDisposeScope();
        var b = torch.randn(new long[] { 4, 4 }, torch.float64);
        var a = b.matmul(b.T);
        var (values, vectors) = torch.linalg.eigh(a);
        Assert.True(vectors.matmul(values.diag()).matmul(vectors.T).allclose(a, atol: 1e-10));
    }

    [Fact]
    public void Variance_is_unbiased_by_default()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[] { 1, 2, 3, 4 });
        Assert.Equal(5.0 / 3, x.var().ToDouble(), 12);
        Assert.Equal(1.25, x.var(correction: 0).ToDouble(), 12);
        Assert.Equal(Math.Sqrt(30), x.norm().ToDouble(), 12);
    }

    [Fact]
    public void Layer_norm_gives_zero_mean_unit_variance_rows()
    {
        using var scope = torch.NewDisposeScope();
        var y = F.layer_norm(torch.randn(3, 16) * 5.0 + 2.0, new long[] { 16 }, eps: 0);
        Assert.True(y.mean(1).abs().max().ToDouble() < 1e-5);
        Assert.True((y.var(1, correction: 0) - 1.0).abs().max().ToDouble() < 1e-4);
    }

    [Fact]
    public void Gelu_and_silu_match_their_formulas()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[] { -1.5, 0.3, 2 });
        var xs = x.data<double>();
        var gelu = x.gelu().data<double>();
        var silu = x.silu().data<double>();
        for (int i = 0; i < xs.Length; i++)
        {
            Assert.Equal(xs[i] * 0.5 * (1 + Erf(xs[i] / Math.Sqrt(2))), gelu[i], 6);
            Assert.Equal(xs[i] / (1 + Math.Exp(-xs[i])), silu[i], 12);
        }
    }

    [Fact]
    public void Attention_matches_the_written_out_formula()
    {
        using var scope = torch.NewDisposeScope();
        var q = torch.randn(new long[] { 2, 3, 5, 4 }, torch.float64);
        var k = torch.randn(new long[] { 2, 3, 5, 4 }, torch.float64);
        var v = torch.randn(new long[] { 2, 3, 5, 4 }, torch.float64);
        var causal = torch.ones(new long[] { 5, 5 }, torch.@bool).tril();
        var scores = q.matmul(k.mT) / 2.0;   // 1/sqrt(4)
        var expected = scores.masked_fill(causal.logical_not(), double.NegativeInfinity).softmax(-1).matmul(v);
        Assert.True(F.scaled_dot_product_attention(q, k, v, is_causal: true).allclose(expected, atol: 1e-10));
        Assert.True(F.scaled_dot_product_attention(q, k, v, attn_mask: causal).allclose(expected, atol: 1e-10));
        Assert.True(F.attention_reference(q, k, v, is_causal: true).allclose(expected, atol: 1e-10));
    }

    [Fact]
    public void Arange_of_whole_numbers_is_int64_and_data_round_trips()
    {
        using var scope = torch.NewDisposeScope();
        var r = torch.arange(5);
        Assert.Equal(ScalarType.Int64, r.dtype);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, r.data<long>());
        var values = new float[] { 1.5f, -2, 3.25f, 0, 7, 8 };
        var t = torch.tensor(values, new long[] { 2, 3 });
        Assert.Equal(values, t.data<float>());
        Assert.Equal(values, t.to(torch.bfloat16).to(torch.float64).to(torch.float32).data<float>());
        Assert.Equal(3.25f, t[0, 2].item<float>());
        Assert.Equal(new float[] { -2, 7 }, t[.., 1].data<float>());
        Assert.Equal(new long[] { 2, 1, 3 }, t[.., TensorIndex.None, ..].shape);
        Assert.Equal(new float[] { 7, 8 }, t[t.gt(5.0)].data<float>());
    }

    [Fact]
    public void Index_assignment_writes_through_to_the_tensor()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.zeros(2, 3);
        t[1, 1..] = torch.ones(2);
        Assert.Equal(new float[] { 0, 0, 0, 0, 1, 1 }, t.data<float>());
    }

    private static double Erf(double x)
    {
        // Abramowitz-Stegun 7.1.26 is not precise enough; integrate with Simpson's rule instead.
        int n = 2000;
        double h = x / n, sum = 0;
        for (int i = 0; i <= n; i++)
        {
            double w = i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2;
            sum += w * Math.Exp(-(i * h) * (i * h));
        }
        return 2 / Math.Sqrt(Math.PI) * sum * h / 3;
    }
}
