using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Torch.Tests;

public class LifetimeTests
{
    [Fact]
    public void A_thousand_training_steps_inside_dispose_scopes_leave_no_live_tensors_behind()
    {
        torch.manual_seed(0);
        var w1 = (torch.randn(32, 8) * 0.2).requires_grad_().DetachFromDisposeScope();
        var w2 = (torch.randn(1, 32) * 0.2).requires_grad_().DetachFromDisposeScope();
        var x = torch.randn(64, 8).DetachFromDisposeScope();
        var y = x.sum(1, keepdim: true).DetachFromDisposeScope();

        // Warm up once (first-call caches), then count. Earlier tests' garbage is finalized first: a finalizer
        // running during the loop would lower the process-wide count and hide (or fake) a leak.
        Step();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Tensor.LiveCount;
        double first = Step(), last = 0;
        for (int i = 0; i < 999; i++) last = Step();
        Assert.Equal(before, Tensor.LiveCount);
        Assert.True(last < first, $"the loss should fall: {first} -> {last}");

        double Step()
        {
            using var scope = torch.NewDisposeScope();
            var loss = F.mse_loss(F.linear(F.linear(x, w1).relu(), w2), y);
            loss.backward();
            using (torch.no_grad())
            {
                foreach (var w in new[] { w1, w2 })
                {
                    w.sub_(w.grad!, 0.01);
                    w.grad = null;
                }
            }
            return loss.ToDouble();
        }
    }

    [Fact]
    public void A_tensor_moved_to_the_outer_scope_survives_the_inner_one()
    {
        long before = Tensor.LiveCount;
        using (var outer = torch.NewDisposeScope())
        {
            Tensor kept;
            using (torch.NewDisposeScope())
            {
                var temp = torch.ones(3) * 2.0;
                kept = (temp + 1.0).MoveToOuterDisposeScope();
            }
            Assert.Equal(9.0, kept.sum().ToDouble());
            Assert.Equal(before + 2, Tensor.LiveCount);   // kept and its sum
        }
        Assert.Equal(before, Tensor.LiveCount);
    }

    [Fact]
    public void The_finalizer_frees_a_tensor_nobody_disposed()
    {
        // Let earlier tests' garbage be finalized first, so only this test's tensors are counted.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Tensor.LiveCount;
        MakeGarbage();
        for (int i = 0; i < 5 && Tensor.LiveCount > before; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.Equal(before, Tensor.LiveCount);

        static void MakeGarbage()
        {
            for (int i = 0; i < 10; i++) _ = torch.ones(100);
        }
    }
}
