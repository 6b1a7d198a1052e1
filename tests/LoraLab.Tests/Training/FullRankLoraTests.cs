using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Optim;
using AdamW = LoraLab.Optim.AdamW;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using LoraLab.Modules;

namespace LoraLab.Tests.Training;

public class FullRankLoraTests
{
    // Trains only the toy network's hidden layer (n×n), either in full or through LoRA of rank r, and returns the final train loss.
    private static double Finetune(int? r, int steps = 1500)
    {
        using var task = new TeacherStudentTask(d: 6, n: 8, rank: 8, scale: 3, n_train: 128, n_test: 16, seed: 11, ScalarType.Float64);
        var model = task.student;
        List<Tensor> trainable;
        if (r is { } rank)
        {
            LoraAdapters.Apply(model, new LoraConfig(r: rank, lora_alpha: 2 * rank, target_modules: "hidden"));
            trainable = model.parameters().Where(p => p.requires_grad).ToList<Tensor>();
        }
        else
        {
            model.freeze();
            var hidden = ((Linear)model.hidden).weight;
            hidden.requires_grad = true;
            trainable = [hidden];
        }
        using var optimizer = new AdamW(trainable, lr: 1e-2, weight_decay: 0);
        double loss = double.NaN;
        for (int step = 0; step < steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var l = (model.forward(task.x_train) - task.y_train).pow(2).mean();
            l.backward();
            optimizer.step();
            loss = l.ToDouble();
        }
        return loss;
    }

    [Fact]
    public void A_lora_of_rank_min_in_out_on_one_layer_reaches_full_finetunings_loss()
    {
        double full = Finetune(r: null);
        double fullRank = Finetune(r: 8);       // r = min(d_in, d_out) = 8: LoRA can express any change of the layer
        double rankOne = Finetune(r: 1);        // cannot express the planted rank-8 change
        // From about 0.74 at the start; libtorch 2.10's draw of this task gets to 1.6e-3 in 1500 steps (and
        // LoraLab's AdamW matches a hand-written loop step for step on it); libtorch 1.13's draw got below 1e-3.
        Assert.True(full < 2e-3, $"full finetuning should fit the teacher: loss {full:G3}");
        Assert.True(fullRank <= Math.Max(2 * full, 1e-4), $"rank-8 LoRA loss {fullRank:G3} vs full finetuning {full:G3}");
        Assert.True(rankOne > 10 * Math.Max(full, 1e-5), $"rank-1 LoRA loss {rankOne:G3} should stay well above full finetuning's {full:G3}");
    }
}
