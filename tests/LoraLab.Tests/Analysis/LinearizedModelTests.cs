using LoraLab.Analysis;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Tests.Analysis;

public class LinearizedModelTests
{
    private const string Weight = "model.layers.1.self_attn.q_proj.weight";

    // A small float64 classifier and 5 sequences of 6 tokens: float64 so that finite differences are exact to 1e-8.
    private static (LlamaForSequenceClassification model, Tensor ids) SmallClassifier()
    {
        torch.manual_seed(11);
        var config = TestSupport.TinyLlama(init: 0.2) with { num_labels = 3 };
        var model = new LlamaForSequenceClassification(config, ScalarType.Float64);
        var ids = torch.randint(config.vocab_size, new long[] { 5, 6 });
        return (model, ids);
    }

    private static Tensor Param(LlamaForSequenceClassification model, string name) => model.named_parameters().Single(p => p.name == name).parameter;

    private static PerExampleJacobians Jacobians(LlamaForSequenceClassification model, Tensor ids, int chunk) =>
        PerExampleJacobians.Compute(rows => model.forward(ids.index_select(0, torch.tensor(rows.Select(r => (long)r).ToArray()))),
                                    (int)ids.size(0), new[] { Param(model, Weight) }, chunk);

    private static Tensor Logits(LlamaForSequenceClassification model, Tensor ids)
    {
        using var noGrad = torch.no_grad();
        return model.forward(ids);
    }

    [Fact]
    public void Per_example_Jacobian_rows_equal_central_finite_differences_on_a_float64_network()
    {
        // f(x) = W2 tanh(W1 x), all in float64, so central differences are accurate to ~1e-10.
        torch.manual_seed(13);
        using var x = torch.randn(new long[] { 7, 5 }, ScalarType.Float64);
        using var w1 = torch.randn(new long[] { 6, 5 }, ScalarType.Float64);
        using var w2 = torch.randn(new long[] { 3, 6 }, ScalarType.Float64);
        Tensor Forward(Tensor rows) => F.linear(F.linear(x.index_select(0, rows), w1).tanh(), w2);
        using var jac = PerExampleJacobians.Compute(rows => Forward(torch.tensor(rows.Select(r => (long)r).ToArray())), 7, new[] { w1 }, chunkSize: 3);
        Assert.Equal(new long[] { 7, 3, 6, 5 }, jac.Jacobians[0].shape);
        Assert.False(w1.requires_grad, "the weight's requires_grad was not restored");
        using var all = torch.arange(0, 7, 1, ScalarType.Int64);
        const double h = 1e-6;
        for (int p = 0; p < 6; p++)
            for (int q = 0; q < 5; q++)
            {
                using var scope = torch.NewDisposeScope();
                var e = torch.zeros(new long[] { 6, 5 }, ScalarType.Float64);
                e[p, q].fill_(h);
                w1.add_(e);
                var plus = Forward(all);
                w1.sub_(e * 2);
                var minus = Forward(all);
                w1.add_(e);
                var numeric = (plus - minus) / (2 * h);
                var analytic = jac.Jacobians[0].select(3, q).select(2, p);     // [N, K]
                Assert.True(TestSupport.MaxAbsDiff(numeric, analytic) < 1e-8, $"entry ({p}, {q}): {TestSupport.MaxAbsDiff(numeric, analytic):G3}");
            }
    }

    [Fact]
    public void Per_example_Jacobian_rows_of_the_classifier_equal_finite_differences()
    {
        // Llama's RMSNorm computes in float32 even for float64 weights, so the step is 1e-3 and the tolerance 1e-3
        // (the logits are of order 0.1; a wrong Jacobian is off by far more).
        var (model, ids) = SmallClassifier();
        model.freeze();     // as under LoRA: the Jacobian is taken by a frozen base weight
        using (model) using (ids)
        using (var jac = Jacobians(model, ids, chunk: 2))
        {
            var weight = Param(model, Weight);
            Assert.Equal(new long[] { 5, 3, 32, 32 }, jac.Jacobians[0].shape);
            Assert.False(weight.requires_grad, "the weight's requires_grad was not restored");
            const double h = 1e-3;
            foreach (var (p, q) in new[] { (0, 0), (3, 17), (31, 5), (12, 30) })
            {
                using var scope = torch.NewDisposeScope();
                double original = weight[p, q].ToDouble();
                using (torch.no_grad()) weight[p, q].fill_(original + h);
                var plus = Logits(model, ids);
                using (torch.no_grad()) weight[p, q].fill_(original - h);
                var minus = Logits(model, ids);
                using (torch.no_grad()) weight[p, q].fill_(original);
                var numeric = (plus - minus) / (2 * h);
                var analytic = jac.Jacobians[0].select(3, q).select(2, p);     // [N, K]
                Assert.True(TestSupport.MaxAbsDiff(numeric, analytic) < 1e-3,
                            $"entry ({p}, {q}): finite differences differ from the Jacobian by {TestSupport.MaxAbsDiff(numeric, analytic):G3}");
            }
        }
    }

    [Fact]
    public void The_chunk_size_does_not_change_the_Jacobians()
    {
        var (model, ids) = SmallClassifier();
        using (model) using (ids)
        using (var one = Jacobians(model, ids, chunk: 1))
        using (var all = Jacobians(model, ids, chunk: 5))
        {
            Assert.True(TestSupport.MaxAbsDiff(one.Jacobians[0], all.Jacobians[0]) < 1e-12);
            Assert.True(TestSupport.MaxAbsDiff(one.Logits, all.Logits) < 1e-12);
        }
    }

    [Fact]
    public void The_linearized_model_agrees_with_the_real_model_to_first_order()
    {
        var (model, ids) = SmallClassifier();
        using (model) using (ids)
        using (var jac = Jacobians(model, ids, chunk: 5))
        {
            var weight = Param(model, Weight);
            torch.manual_seed(12);
            using var direction = torch.randn(weight.shape, ScalarType.Float64);
            using var w0 = weight.detach().clone();
            using var linear = new LinearizedModel(jac.Logits, jac.Jacobians[0], new[] { 0, 1, 2, 0, 1 });
            var errors = new List<double>();
            foreach (double eps in new[] { 4e-2, 2e-2, 1e-2, 5e-3 })
            {
                using var scope = torch.NewDisposeScope();
                using (torch.no_grad()) weight.copy_(w0 + direction * eps);
                var real = Logits(model, ids);
                var predicted = linear.Logits(direction * eps);
                errors.Add(TestSupport.MaxAbsDiff(real, predicted));
            }
            using (torch.no_grad()) weight.copy_(w0);
            // A remainder of order ε² falls 4x each time ε halves (the first-order term alone would fall 2x).
            for (int i = 1; i < errors.Count; i++)
            {
                double ratio = errors[i - 1] / errors[i];
                Assert.True(ratio is > 3.3 and < 4.7, $"error ratio {ratio:G3} as ε halves (errors {string.Join(", ", errors.Select(e => e.ToString("G3")))})");
            }
        }
    }

    [Fact]
    public void The_gradient_of_the_summed_cross_entropy_matches_finite_differences()
    {
        foreach (int K in new[] { 1, 3 })
        {
            using var problem = PlantedProblem.Create(n_examples: 6, num_labels: K, rows: 4, cols: 5, planted_rank: 2, seed: K);
            torch.manual_seed(7);
            using var delta = torch.randn(new long[] { 4, 5 }, ScalarType.Float64);
            using var grad = problem.Gradient(delta);
            var g = grad.data<double>();
            const double h = 1e-6;
            for (int p = 0; p < 4; p++)
                for (int q = 0; q < 5; q++)
                {
                    using var scope = torch.NewDisposeScope();
                    var e = torch.zeros(new long[] { 4, 5 }, ScalarType.Float64);
                    e[p, q].fill_(h);
                    double numeric = (problem.Loss(delta + e) - problem.Loss(delta - e)) / (2 * h);
                    Assert.Equal(numeric, g[p * 5 + q], 6);
                }
        }
    }

    [Fact]
    public void Mismatched_shapes_and_out_of_range_labels_are_rejected()
    {
        using var f0 = torch.zeros(new long[] { 3, 2 }, ScalarType.Float64);
        using var g = torch.zeros(new long[] { 3, 2, 4, 4 }, ScalarType.Float64);
        using var wrong = torch.zeros(new long[] { 2, 2 }, ScalarType.Float64);
        Assert.Contains("logits", Assert.Throws<ArgumentException>(() => new LinearizedModel(wrong, g, new[] { 0, 1, 0 })).Message);
        Assert.Contains("labels", Assert.Throws<ArgumentException>(() => new LinearizedModel(f0, g, new[] { 0, 2, 0 })).Message);
        Assert.Contains("labels", Assert.Throws<ArgumentException>(() => new LinearizedModel(f0, g, new[] { 0, 1 })).Message);
    }
}
