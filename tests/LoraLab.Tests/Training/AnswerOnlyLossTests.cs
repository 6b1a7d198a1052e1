using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;
using LoraLab.Training;

namespace LoraLab.Tests.Training;

public class AnswerOnlyLossTests
{
    private static readonly PromptCompletion[] Examples =
    [
        new([5, 6, 7, 8], [9, 10, 11]),
        new([12, 13], [14, 15, 16, 17, 18]),
        new([19, 20, 21, 22, 23, 24], [25]),
    ];

    [Fact]
    public void Labels_are_minus_100_on_prompt_and_padding_and_the_token_elsewhere()
    {
        using var batch = AnswerOnlyLoss.Batch(Examples, padId: 47);
        Assert.Equal(new long[] { 3, 7 }, batch.InputIds.shape);
        var ids = batch.InputIds.data<long>().ToArray();
        var labels = batch.Labels.data<long>().ToArray();
        Assert.Equal(new long[] { 5, 6, 7, 8, 9, 10, 11 }, ids[..7]);
        Assert.Equal(new long[] { -100, -100, -100, -100, 9, 10, 11 }, labels[..7]);
        Assert.Equal(new long[] { 12, 13, 14, 15, 16, 17, 18 }, ids[7..14]);
        Assert.Equal(new long[] { -100, -100, 14, 15, 16, 17, 18 }, labels[7..14]);
        Assert.Equal(new long[] { 19, 20, 21, 22, 23, 24, 25 }, ids[14..]);
        Assert.Equal(new long[] { -100, -100, -100, -100, -100, -100, 25 }, labels[14..]);
        Assert.Equal(9, batch.AnswerTokens);
    }

    [Fact]
    public void Answer_masking_leaves_prompt_tokens_out_of_the_loss()
    {
        torch.manual_seed(3);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        using var scope = torch.NewDisposeScope();
        using var batch = AnswerOnlyLoss.Batch(Examples, padId: 47);
        double loss = AnswerOnlyLoss.Loss(model, batch).ToDouble();

        // Reference by hand: the mean of -log p(next token) over the positions that predict an answer token, and no others.
        var logits = model.forward(batch.InputIds).to(ScalarType.Float64).log_softmax(-1);
        long T = batch.InputIds.size(1), V = logits.size(2);
        var logp = logits.data<double>();
        double sum = 0;
        int count = 0;
        for (int b = 0; b < Examples.Length; b++)
        {
            var tokens = Examples[b].Prompt.Concat(Examples[b].Completion).ToArray();
            for (int t = Examples[b].Prompt.Length - 1; t < tokens.Length - 1; t++)
            {
                sum -= logp[(b * T + t) * V + tokens[t + 1]];
                count++;
            }
        }
        Assert.Equal(9, count);
        Assert.Equal(sum / count, loss, 5);

        // The full-sequence loss scores the prompt too, so it differs: the mask did something.
        double unmasked = LlamaForCausalLM.Loss(model.forward(batch.InputIds), batch.InputIds).ToDouble();
        Assert.NotEqual(unmasked, loss, 3);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_loss_on_the_scored_positions_alone_equals_the_loss_on_all_logits_with_the_same_gradients(bool tie)
    {
        // ScoredLoss skips the logits of the prompt and the padding: in float64 its value and every parameter's gradient
        // (the tied embedding's, which the head also reads, included) must be those of the loss over all logits.
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama(tie: tie, init: 0.2), ScalarType.Float64);
        using var batch = AnswerOnlyLoss.Batch(Examples, padId: 47);

        Dictionary<string, Tensor> Gradients(Tensor loss)
        {
            model.zero_grad();
            loss.backward();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        }
        var all = LlamaForCausalLM.Loss(model.forward(batch.InputIds), batch.Labels, AnswerOnlyLoss.IgnoreIndex);
        var allGradients = Gradients(all);
        var scored = AnswerOnlyLoss.Loss(model, batch);
        var scoredGradients = Gradients(scored);

        Assert.Equal(all.ToDouble(), scored.ToDouble(), 12);
        Assert.Equal(allGradients.Keys.Order(), scoredGradients.Keys.Order());
        foreach (var (name, gradient) in allGradients)
        {
            Assert.True(gradient.abs().max().ToDouble() > 1e-8, $"{name} gets no gradient: the comparison would prove nothing");
            Assert.True(TestSupport.MaxAbsDiff(scoredGradients[name], gradient) < 1e-12, $"{name}: gradients differ");
        }
    }

    [Fact]
    public void Only_positions_that_predict_an_answer_token_receive_gradient()
    {
        torch.manual_seed(4);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        using var scope = torch.NewDisposeScope();
        using var batch = AnswerOnlyLoss.Batch(Examples, padId: 47);
        var logits = model.forward(batch.InputIds).detach();
        logits.requires_grad = true;
        LlamaForCausalLM.Loss(logits, batch.Labels, AnswerOnlyLoss.IgnoreIndex).backward();
        var rowNorms = logits.grad!.abs().sum(2).data<float>();   // [B, T] flattened
        long T = batch.InputIds.size(1);
        for (int b = 0; b < Examples.Length; b++)
        {
            int firstPredictor = Examples[b].Prompt.Length - 1, last = Examples[b].Length - 2;
            for (int t = 0; t < T; t++)
            {
                bool predictsAnswer = t >= firstPredictor && t <= last;
                Assert.True(predictsAnswer == rowNorms[b * T + t] > 0, $"row {b} position {t}: gradient {rowNorms[b * T + t]}");
            }
        }
    }

    [Fact]
    public void Right_padding_does_not_change_the_loss()
    {
        torch.manual_seed(6);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        using var scope = torch.NewDisposeScope();
        using var a = AnswerOnlyLoss.Batch(Examples, padId: 47);
        using var b = AnswerOnlyLoss.Batch(Examples, padId: 3);
        Assert.Equal(AnswerOnlyLoss.Loss(model, a).ToDouble(), AnswerOnlyLoss.Loss(model, b).ToDouble(), 6);
    }

    [Fact]
    public void Evaluation_weights_every_answer_token_equally_whatever_the_batch_size()
    {
        torch.manual_seed(5);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        double one = AnswerOnlyLoss.Evaluate(model, Examples, padId: 47, batchSize: 1);
        double all = AnswerOnlyLoss.Evaluate(model, Examples, padId: 47, batchSize: 3);
        double two = AnswerOnlyLoss.Evaluate(model, Examples, padId: 47, batchSize: 2);
        Assert.Equal(all, one, 5);
        Assert.Equal(all, two, 5);
        Assert.True(model.training);
    }

    [Fact]
    public void An_empty_completion_is_rejected_with_its_index()
    {
        var error = Assert.Throws<ArgumentException>(() => AnswerOnlyLoss.Batch([Examples[0], new([1, 2], [])], padId: 0));
        Assert.Contains("example 1", error.Message);
    }
}
