using LoraLab.Checkpoints;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using AdamW = LoraLab.Optim.AdamW;
using SGD = LoraLab.Optim.SGD;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace LoraLab.Tests;

public class ModuleTests
{
    [Fact]
    public void To_dtype_converts_every_parameter_and_keeps_trainability()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        LoraAdapters.Apply(model, new LoraConfig(r: 2));
        long trainable = model.num_parameters(trainableOnly: true);
        model.to(ScalarType.Float64);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        Assert.Equal(trainable, model.num_parameters(trainableOnly: true));
        Assert.Equal(ScalarType.Float64, model.forward(torch.randint(0, 48, new long[] { 1, 4 })).dtype);
    }

    [Fact]
    public void Eval_mode_reaches_every_child_and_disables_lora_dropout()
    {
        using var scope = torch.NewDisposeScope();
        using var linear = nn.Linear(16, 16);
        using var lora = new LoraLinear(linear, r: 4, lora_alpha: 4, lora_dropout: 0.5, init: LoraInit.InitB_Gaussian);
        using (torch.no_grad()) lora.lora_A.normal_(0, 1);
        var x = torch.randn(4, 16);
        lora.eval();
        Assert.All(lora.named_modules(), m => Assert.False(m.module.training));
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(lora.forward(x), lora.forward(x)));   // deterministic
        lora.train();
        Assert.True(TestSupport.MaxAbsDiff(lora.forward(x), lora.forward(x)) > 0);    // dropout active
    }

    [Fact]
    public void Hf_checkpoint_round_trip_reproduces_logits()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(31);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama(tie: true));
        string dir = TestSupport.TempDir("hf");
        HfCheckpoint.Save(dir, model);
        using var loaded = HfCheckpoint.LoadCausalLM(dir);
        Assert.Equal(model.config, loaded.config);
        var ids = torch.randint(0, 48, new long[] { 2, 6 });
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(model.forward(ids), loaded.forward(ids)));
    }

    [Theory]
    [InlineData(LoraInit.InitA_KaimingUniform)]
    [InlineData(LoraInit.InitB_KaimingUniform)]
    public void LoRA_on_the_toy_task_reduces_the_test_loss(LoraInit init)
    {
        using var scope = torch.NewDisposeScope();
        using var task = new TeacherStudentTask(d: 8, n: 64, rank: 2, scale: 8, n_train: 256, n_test: 128, seed: 41);
        LoraAdapters.Apply(task.student, new LoraConfig(r: 2, lora_alpha: 2, target_modules: "hidden", init: init));
        double Test() { using var s = torch.NewDisposeScope(); return torch.nn.functional.mse_loss(task.student.forward(task.x_test), task.y_test).ToDouble(); }
        double before = Test();
        using var opt = new AdamW(LoraPlus.ParamGroups(task.student, lr: 3e-3));
        for (int i = 0; i < 200; i++)
        {
            using var s = torch.NewDisposeScope();
            opt.zero_grad();
            torch.nn.functional.mse_loss(task.student.forward(task.x_train), task.y_train).backward();
            opt.step();
        }
        Assert.True(before > 0);
        Assert.True(Test() < 0.5 * before, $"{init}: test loss {before:G4} -> {Test():G4}");
    }
}

public class ModuleEvaluatingTests
{
    [Fact]
    public void An_evaluation_runs_in_eval_mode_without_gradients_and_restores_the_mode_even_when_it_throws()
    {
        using var model = new LoraLab.Models.LlamaForCausalLM(TestSupport.TinyLlama());
        model.train();
        var (training, gradEnabled) = model.Evaluating(() => (model.training, torch.is_grad_enabled()));
        Assert.False(training);
        Assert.False(gradEnabled);
        Assert.True(model.training);
        Assert.Throws<InvalidOperationException>(() => model.Evaluating<int>(() => throw new InvalidOperationException("bad batch")));
        Assert.True(model.training);
        model.eval();
        model.Evaluating(() => 0);
        Assert.False(model.training);
    }
}
