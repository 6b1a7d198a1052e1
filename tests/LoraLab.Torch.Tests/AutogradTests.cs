using LoraLab.Torch;

namespace LoraLab.Torch.Tests;

public class AutogradTests
{
    [Fact]
    public void Vector_jacobian_product_of_a_linear_map_is_the_transpose_times_the_vector()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn(new long[] { 4, 3 }, torch.float64);
        var x = torch.randn(new long[] { 3 }, torch.float64, requires_grad: true);
        var v = torch.randn(new long[] { 4 }, torch.float64);
        var vjp = torch.autograd.grad(a.matmul(x), new[] { x }, v)[0]!;
        Assert.True(vjp.allclose(a.T.matmul(v), atol: 1e-12));
        Assert.Null(x.grad);   // autograd.grad leaves .grad alone
    }

    [Fact]
    public void Create_graph_gives_hessian_vector_products()
    {
        using var scope = torch.NewDisposeScope();
        // f(x) = 1/2 x^T H x has Hessian H (symmetric).
        var b = torch.randn(new long[] { 3, 3 }, torch.float64);
        var h = b + b.T;
        var x = torch.randn(new long[] { 3 }, torch.float64, requires_grad: true);
        var f = x.matmul(h.matmul(x)) * 0.5;
        var g = torch.autograd.grad(f, new[] { x }, create_graph: true)[0]!;
        var u = torch.randn(new long[] { 3 }, torch.float64);
        var hvp = torch.autograd.grad((g * u).sum(), new[] { x })[0]!;
        Assert.True(hvp.allclose(h.matmul(u), atol: 1e-10));
    }

    [Fact]
    public void Unused_inputs_give_null_when_allowed_and_an_error_otherwise()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(new long[] { 2 }, requires_grad: true);
        var unused = torch.randn(new long[] { 2 }, requires_grad: true);
        var y = (x * 2.0).sum();
        var grads = torch.autograd.grad(y, new[] { x, unused }, retain_graph: true, allow_unused: true);
        Assert.NotNull(grads[0]);
        Assert.Null(grads[1]);
        Assert.Throws<TorchException>(() => torch.autograd.grad(y, new[] { x, unused }));
    }

    [Fact]
    public void Backward_accumulates_and_retain_graph_allows_a_second_pass()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[] { 1, 2 }, requires_grad: true);
        var y = (x * x).sum();
        y.backward(retain_graph: true);
        y.backward();
        Assert.Equal(new double[] { 4, 8 }, x.grad!.data<double>());
        x.grad = null;
        Assert.Null(x.grad);
    }

    [Fact]
    public void No_grad_scope_records_nothing_and_restores_the_mode()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(new long[] { 2 }, requires_grad: true);
        using (torch.no_grad())
        {
            Assert.False(torch.is_grad_enabled());
            Assert.False((x * 2.0).requires_grad);
        }
        Assert.True(torch.is_grad_enabled());
        Assert.True((x * 2.0).requires_grad);
        Assert.False(x.detach().requires_grad);
    }
}
